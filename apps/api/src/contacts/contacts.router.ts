import { z } from "zod";
import { ContactInput, ContactReplaceInput, EmailAddress } from "@contacts/domain/contact";
import { Id } from "@contacts/domain/common";
import { ContactsError } from "@contacts/domain/errors";
import { OnDuplicate } from "@contacts/domain/duplicates";
import { MergePreference } from "@contacts/domain/merge";
import { JsonPatch } from "@contacts/domain/patch";
import { ContactChangesInput, ContactHistoryInput } from "@contacts/domain/events";

import { contactChanges, contactHistory } from "../events/contact-events.js";
import { procedureWith, readProcedureWith, requireForInput, router } from "../trpc/init.js";
import {
  ContactDescendantsInput,
  ContactGetInput,
  ContactListInput,
  ContactSearchInput,
} from "@contacts/domain/search";
import { ContactService } from "./contact.service.js";
import { ContactReads } from "./contact-reads.js";

const ExpectedVersion = z.number().int().min(1).optional();
/** At most this many contacts merge into one target in one call. */
const MERGE_SOURCES = 10;

export const contactsRouter = router({
  /** `onDuplicate: "reject"`: 409 `duplicate` (with the matches' ids and confidences) when one matches. */
  create: procedureWith("contacts:write")
    .input(z.strictObject({ contact: ContactInput, onDuplicate: OnDuplicate.optional() }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).create(input.contact, {
        onDuplicate: input.onDuplicate ?? "allow",
      });
      return ctx.viewer.showAll(row);
    }),

  /** By `{ id }` or by `{ externalId }` (one contact per tenant holds an external id). */
  get: readProcedureWith("contacts:read")
    .input(ContactGetInput)
    .query(async ({ ctx, input }) => {
      const row = await new ContactReads(ctx.reader, ctx.viewer, ctx.services.vault).lookup(input);
      return ctx.viewer.show(row, input.fields);
    }),

  update: procedureWith("contacts:write")
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion, contact: ContactReplaceInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).replace(
        input.id,
        input.expectedVersion,
        input.contact,
      );
      return ctx.viewer.showAll(row);
    }),

  /** RFC 6902 JSON Patch on the contact as the caller reads it; all or nothing. */
  patch: procedureWith("contacts:write")
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion, patch: JsonPatch }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).patch(
        input.id,
        input.expectedVersion,
        input.patch,
      );
      return ctx.viewer.showAll(row);
    }),

  /**
   * Merges sources into the target (`expectedVersion` is the target's). `dryRun` answers with the
   * would-be target and the conflicting fields, changing nothing.
   */
  merge: procedureWith("contacts:write")
    .input(
      z.strictObject({
        targetId: Id,
        sourceIds: z.array(Id).min(1).max(MERGE_SOURCES),
        expectedVersion: ExpectedVersion,
        dryRun: z.boolean().optional(),
        prefer: MergePreference.optional(),
      }),
    )
    .mutation(({ ctx, input }) => new ContactService(ctx.em, ctx.viewer, ctx.services.vault).merge(input)),

  /** Contacts that may be the same as this one (email, phone, phonetic name at a postal code), most likely first. */
  duplicates: procedureWith("contacts:read")
    .input(z.strictObject({ id: Id, limit: z.number().int().min(1).max(100).default(20) }))
    .query(async ({ ctx, input }) => {
      const found = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).duplicates(
        input.id,
        input.limit,
      );
      return {
        items: found.map(({ row, match }) => ({
          contact: ctx.viewer.showAll(row),
          confidence: match.confidence,
          matches: match.matches,
        })),
      };
    }),

  delete: procedureWith("contacts:delete")
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion }))
    .mutation(async ({ ctx, input }) => {
      await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).delete(
        input.id,
        input.expectedVersion,
      );
      return { id: input.id, deleted: true as const };
    }),

  /** Filtering by tax ID needs `contacts:unmask-tax-id` as well: the filter is an oracle for the value. */
  search: readProcedureWith("contacts:read")
    .input(ContactSearchInput)
    .use(
      requireForInput("contacts:unmask-tax-id", (input) =>
        (input as ContactSearchInput).taxId === undefined ? null : "taxId",
      ),
    )
    .query(async ({ ctx, input }) => {
      const page = await new ContactReads(ctx.reader, ctx.viewer, ctx.services.vault).search(input);
      return {
        items: page.rows.map((row) => ctx.viewer.show(row, input.fields)),
        nextCursor: page.nextCursor,
      };
    }),

  /** The contacts of one account, with the Rackspace filters, in number order. */
  list: readProcedureWith("contacts:read")
    .input(ContactListInput)
    .query(async ({ ctx, input }) => {
      const page = await new ContactReads(ctx.reader, ctx.viewer, ctx.services.vault).list(input);
      return {
        items: page.rows.map((row) => ctx.viewer.show(row, input.fields)),
        nextCursor: page.nextCursor,
      };
    }),

  /** The contacts of an account and of all its descendant accounts, to any depth. */
  descendants: readProcedureWith("contacts:read")
    .input(ContactDescendantsInput)
    .query(async ({ ctx, input }) => {
      const page = await new ContactReads(ctx.reader, ctx.viewer, ctx.services.vault).descendants(input);
      return {
        items: page.rows.map((row) => ctx.viewer.show(row, input.fields)),
        nextCursor: page.nextCursor,
      };
    }),

  /** Can `managerId` manage the contact with this email (is it among that contact's portal delegates)? */
  canManage: procedureWith("contacts:read")
    .input(z.strictObject({ managerId: Id, emailAddress: EmailAddress }))
    .query(({ ctx, input }) =>
      new ContactService(ctx.em, ctx.viewer, ctx.services.vault).canManage(
        input.managerId,
        input.emailAddress,
      ),
    ),

  /**
   * The social profile for an email: the configured provider (offline default: the tenant's own
   * data); 404 on `emailAddress` when no contact holds it and the provider knows nothing of it.
   */
  socialProfile: procedureWith("contacts:read")
    .input(z.strictObject({ emailAddress: EmailAddress }))
    .query(async ({ ctx, input }) => {
      const [known] = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).findByEmail(
        input.emailAddress,
        1,
      );
      const profile = await ctx.services.socialProfiles.lookup(
        input.emailAddress,
        known ? { id: known.id, social: known.social } : null,
      );
      if (!profile) throw ContactsError.notFound("emailAddress");
      return profile;
    }),

  /** One contact's change events, oldest first (readable after the contact is deleted). */
  history: procedureWith("contacts:read")
    .input(ContactHistoryInput)
    .query(({ ctx, input }) => contactHistory(ctx.em, ctx.principal.tenantId, input)),

  /**
   * The tenant's change feed in commit order, for services that keep a copy in sync. Same permission
   * as reading contacts: events hold what a read shows (tax ID masked).
   */
  changes: procedureWith("contacts:read")
    .input(ContactChangesInput)
    .query(({ ctx, input }) => contactChanges(ctx.em, ctx.principal.tenantId, input)),
});
