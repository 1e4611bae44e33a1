import { z } from "zod";
import { ContactField, ContactInput, ContactReplaceInput, projectContact } from "@contacts/domain/contact";
import { Id } from "@contacts/domain/common";

import { procedureWith, router } from "../trpc/init.js";
import { toContactDto } from "./contact.dto.js";
import { ContactService } from "./contact.service.js";

const ExpectedVersion = z.number().int().min(1).optional();

export const contactsRouter = router({
  create: procedureWith("contacts:write")
    .input(z.strictObject({ contact: ContactInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.principal).create(input.contact);
      return toContactDto(row, ctx.principal);
    }),

  get: procedureWith("contacts:read")
    .input(
      z.strictObject({
        id: Id,
        fields: z.array(ContactField).min(1).max(ContactField.options.length).optional(),
        /** Accepted for compatibility; every read is consistent. */
        consistentRead: z.boolean().optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.principal).get(input.id);
      return projectContact(toContactDto(row, ctx.principal), input.fields);
    }),

  update: procedureWith("contacts:write")
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion, contact: ContactReplaceInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.principal).replace(
        input.id,
        input.expectedVersion,
        input.contact,
      );
      return toContactDto(row, ctx.principal);
    }),

  delete: procedureWith("contacts:delete")
    .input(z.strictObject({ id: Id, expectedVersion: ExpectedVersion }))
    .mutation(async ({ ctx, input }) => {
      await new ContactService(ctx.em, ctx.principal).delete(input.id, input.expectedVersion);
      return { id: input.id, deleted: true as const };
    }),
});
