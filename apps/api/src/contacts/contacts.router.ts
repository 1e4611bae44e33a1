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
import { ContactEventResponse, ContactResponse, ObjectResponse, pageOf } from "../rest/responses.js";

const ExpectedVersion = z.number().int().min(1).optional();
/** At most this many contacts merge into one target in one call. */
const MERGE_SOURCES = 10;

export const contactsRouter = router({
  /** `onDuplicate: "reject"`: 409 `duplicate` (with the matches' ids and confidences) when one matches. */
  create: procedureWith("contacts:write")
    .meta({
      openapi: {
        method: "POST",
        path: "/contacts",
        summary: "Create a contact",
        description: "`onDuplicate=reject`: 409 `duplicate` (with the matches) when one matches.",
        status: 201,
        body: "contact",
        location: "/contacts/{id}",
        etag: true,
        response: ContactResponse,
      },
    })
    .input(z.strictObject({ contact: ContactInput, onDuplicate: OnDuplicate.optional() }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).create(input.contact, {
        onDuplicate: input.onDuplicate ?? "allow",
      });
      return ctx.viewer.showAll(row);
    }),

  /** By `{ id }` or by `{ externalId }` (one contact per tenant holds an external id). */
  get: readProcedureWith("contacts:read")
    .meta({
      openapi: [
        {
          method: "GET",
          path: "/contacts/by-external-id/{externalId}",
          operationId: "contactsGetByExternalId",
          summary: "Get the contact holding an external id",
          omit: ["id"],
          etag: true,
          response: ContactResponse,
        },
        {
          method: "GET",
          path: "/contacts/{id}",
          summary: "Get a contact",
          omit: ["externalId"],
          etag: true,
          response: ContactResponse,
        },
      ],
    })
    .input(ContactGetInput)
    .query(async ({ ctx, input }) => {
      const row = await new ContactReads(ctx.reader, ctx.viewer, ctx.services.vault).lookup(input);
      return ctx.viewer.show(row, input.fields);
    }),

  update: procedureWith("contacts:write")
    .meta({
      openapi: {
        method: "PUT",
        path: "/contacts/{id}",
        summary: "Replace a contact",
        body: "contact",
        ifMatch: true,
        etag: true,
        response: ContactResponse,
      },
    })
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
    .meta({
      openapi: {
        method: "PATCH",
        path: "/contacts/{id}",
        summary: "Change a contact with an RFC 6902 JSON Patch",
        description: "All or nothing; a failed `test` operation is a 409 `patch_test_failed`.",
        body: "patch",
        contentType: "application/json-patch+json",
        ifMatch: true,
        etag: true,
        response: ContactResponse,
      },
    })
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
    .meta({
      openapi: {
        method: "POST",
        path: "/contacts/{targetId}/merge",
        summary: "Merge contacts into this one",
        description: "`If-Match` is the target's version; `dryRun` answers with the would-be target.",
        ifMatch: true,
        response: ObjectResponse,
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/contacts/{id}/duplicates",
        summary: "Contacts that may be the same as this one",
        response: z.looseObject({ items: z.array(ObjectResponse) }),
      },
    })
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
    .meta({
      openapi: {
        method: "DELETE",
        path: "/contacts/{id}",
        summary: "Delete a contact",
        description: "409 `referenced` while other contacts point at it.",
        status: 204,
        ifMatch: true,
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/contacts",
        summary: "Search contacts",
        description: "Filters combine with AND; `q` is free text; `sort[field]`, `sort[direction]`.",
        cursorParam: "cursor",
        response: pageOf(ContactResponse),
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/accounts/{accountId}/contacts",
        summary: "The contacts of an account",
        omit: ["account"],
        cursorParam: "cursor",
        response: pageOf(ContactResponse),
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/accounts/{accountId}/descendants",
        summary: "The contacts of an account and of all its descendant accounts",
        cursorParam: "cursor",
        response: pageOf(ContactResponse),
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/contacts/{managerId}/can-manage",
        summary: "Can this contact manage the contact with `emailAddress`?",
        response: ObjectResponse,
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/social-profile",
        summary: "The social profile for an email address",
        response: ObjectResponse,
      },
    })
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
    .meta({
      openapi: {
        method: "GET",
        path: "/contacts/{id}/history",
        summary: "One contact's change events, oldest first",
        cursorParam: "cursor",
        response: pageOf(ContactEventResponse),
      },
    })
    .input(ContactHistoryInput)
    .query(({ ctx, input }) => contactHistory(ctx.em, ctx.principal.tenantId, input)),

  /**
   * The tenant's change feed in commit order, for services that keep a copy in sync. Same permission
   * as reading contacts: events hold what a read shows (tax ID masked).
   */
  changes: procedureWith("contacts:read")
    .meta({
      openapi: {
        method: "GET",
        path: "/changes",
        summary: "The tenant's change feed, in commit order",
        description: "Poll with the `Link` header's `since` (always set); a short page means caught up.",
        cursorParam: "since",
        response: pageOf(ContactEventResponse, true),
      },
    })
    .input(ContactChangesInput)
    .query(({ ctx, input }) => contactChanges(ctx.em, ctx.principal.tenantId, input)),
});
