import { initTRPC } from "@trpc/server";
import type { Permission } from "@contacts/domain/permissions";
import { ContactsError } from "@contacts/domain/errors";

import { authenticateApiKey } from "../auth/api-key.service.js";
import type { Principal } from "../auth/principal.js";
import type { Context } from "./context.js";
import { fieldErrorsOf, toTrpcError } from "./errors.js";

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, input }) {
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    const cause = error.cause instanceof ContactsError ? error.cause : null;
    const errors = fieldErrorsOf(error, input);
    return {
      ...shape,
      // A bug's message may hold data; callers get a generic one. Validation messages are rebuilt
      // from the field errors (never from zod's dump of the issues).
      message: internal
        ? "internal error"
        : errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; "),
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        errors,
        ...(cause?.details ? { details: cause.details } : {}),
      },
    };
  },
});

/** Converts every thrown error in one place (domain, zod, MikroORM) into its API error. */
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTrpcError(result.error);
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** No credential needed (health and the like). */
export const publicProcedure = t.procedure.use(errorMapping);

/** A valid bearer credential is required; `ctx.principal` is set. */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const principal: Principal | null = ctx.bearerToken
    ? await authenticateApiKey(ctx.em, ctx.bearerToken)
    : null;
  if (!principal) throw ContactsError.unauthenticated();
  ctx.log = ctx.log.child({ tenantId: principal.tenantId, subject: principal.subject });
  return next({ ctx: { ...ctx, principal } });
});

/** Requires `permission`; the only way procedures check permissions. */
export function procedureWith(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!ctx.principal.permissions.has(permission)) throw ContactsError.forbidden(permission);
    return next();
  });
}
