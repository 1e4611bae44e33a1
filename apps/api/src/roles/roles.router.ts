import { z } from "zod";
import { RoleCode } from "@contacts/domain/contact";
import { RoleInput } from "@contacts/domain/role";

import { procedureWith, router } from "../trpc/init.js";
import { RoleService, toRoleView } from "./role.service.js";

/** The tenant's role catalogue: what contacts' `roles` may hold. Reading it is part of reading contacts. */
export const rolesRouter = router({
  list: procedureWith("contacts:read").query(async ({ ctx }) =>
    (await new RoleService(ctx.em, ctx.principal.tenantId).list()).map(toRoleView),
  ),

  create: procedureWith("admin")
    .input(RoleInput)
    .mutation(async ({ ctx, input }) =>
      toRoleView(await new RoleService(ctx.em, ctx.principal.tenantId).create(input)),
    ),

  /** Refused (409 `referenced`, with the number of contacts) while a contact holds the role. */
  delete: procedureWith("admin")
    .input(z.strictObject({ code: RoleCode }))
    .mutation(async ({ ctx, input }) => {
      await new RoleService(ctx.em, ctx.principal.tenantId).delete(input.code);
      return { code: input.code, deleted: true as const };
    }),
});
