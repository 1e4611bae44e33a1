import { z } from "zod";
import { RoleCode } from "@contacts/domain/contact";
import { RoleInput } from "@contacts/domain/role";

import { procedureWith, router } from "../trpc/init.js";
import { RoleService, toRoleView } from "./role.service.js";
import { RoleResponse } from "../rest/responses.js";

/** The tenant's role catalogue: what contacts' `roles` may hold. Reading it is part of reading contacts. */
export const rolesRouter = router({
  list: procedureWith("contacts:read")
    .meta({
      openapi: {
        method: "GET",
        path: "/roles",
        summary: "The tenant's role catalogue",
        response: z.array(RoleResponse),
      },
    })
    .query(async ({ ctx }) => (await new RoleService(ctx.em, ctx.principal.tenantId).list()).map(toRoleView)),

  create: procedureWith("admin")
    .meta({
      openapi: {
        method: "POST",
        path: "/roles",
        summary: "Add a role to the catalogue",
        status: 201,
        response: RoleResponse,
      },
    })
    .input(RoleInput)
    .mutation(async ({ ctx, input }) =>
      toRoleView(await new RoleService(ctx.em, ctx.principal.tenantId).create(input)),
    ),

  /** Refused (409 `referenced`, with the number of contacts) while a contact holds the role. */
  delete: procedureWith("admin")
    .meta({
      openapi: {
        method: "DELETE",
        path: "/roles/{code}",
        summary: "Remove a role",
        description: "409 `referenced` while a contact holds it.",
        status: 204,
      },
    })
    .input(z.strictObject({ code: RoleCode }))
    .mutation(async ({ ctx, input }) => {
      await new RoleService(ctx.em, ctx.principal.tenantId).delete(input.code);
      return { code: input.code, deleted: true as const };
    }),
});
