import { z } from "zod";
import { ContactField, ContactInput } from "@contacts/domain/contact";
import { ContactsError } from "@contacts/domain/errors";

import { ContactService } from "../contacts/contact.service.js";
import { router, userProcedure } from "../trpc/init.js";
import { ContactResponse } from "../rest/responses.js";

/** The calling portal user's own contact (a user ID token; the contact lists the user in `userIds`). */
export const meRouter = router({
  get: userProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/me",
        summary: "The calling portal user's own contact",
        etag: true,
        response: ContactResponse,
      },
    })
    .input(z.strictObject({ fields: z.array(ContactField).min(1).optional() }).optional())
    .query(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).findByUserId(ctx.userId);
      if (!row) throw ContactsError.notFound(null);
      return ctx.viewer.show(row, input?.fields);
    }),

  /** Creates the user's contact, linked to the user; 409 when the user already has one. */
  create: userProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/me",
        summary: "Create the calling user's contact, linked to the user",
        status: 201,
        body: "contact",
        location: "/me",
        etag: true,
        response: ContactResponse,
      },
    })
    .input(z.strictObject({ contact: ContactInput }))
    .mutation(async ({ ctx, input }) => {
      const row = await new ContactService(ctx.em, ctx.viewer, ctx.services.vault).create(input.contact, {
        userId: ctx.userId,
      });
      return ctx.viewer.showAll(row);
    }),
});
