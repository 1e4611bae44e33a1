import type { Context } from "hono";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ContactsError, ErrorKind, ErrorReason } from "@contacts/domain/errors";
import { loggableError } from "@contacts/db/loggable-error";
import type { Permission } from "@contacts/domain/permissions";

import { authenticate } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import type { ApiServices } from "../services.js";
import { bearerFrom } from "../trpc/context.js";
import { toContactsError } from "../trpc/errors.js";

/**
 * The caller of a plain HTTP route (uploads, downloads), checked as tRPC procedures are: the bearer
 * token inside `tx` (which it binds to the caller's tenant), the tenant's rate limit, then
 * `permission`. Throws the same ContactsErrors (401, 429, 403).
 */
export async function routePrincipal(
  tx: EntityManager,
  services: ApiServices,
  c: Context,
  permission: Permission,
): Promise<Principal> {
  const token = bearerFrom(c.req.header("authorization"));
  if (!token) throw ContactsError.unauthenticated();
  const tenantHeader = c.req.header("x-tenant-id")?.trim() || null;
  const principal = await authenticate(tx, services, token, tenantHeader);
  if (!principal) throw ContactsError.unauthenticated("the bearer token is not valid");
  const perMinute = principal.tenantSettings.limits.requestsPerMinute;
  const decision = await services.rateLimiter.take(principal.tenantId, perMinute);
  if (!decision.allowed) {
    throw new ContactsError(
      "TOO_MANY_REQUESTS",
      [
        {
          reason: ErrorReason.rateLimited,
          field: null,
          message: `rate limit reached; retry in ${decision.retryAfterSeconds}s`,
        },
      ],
      { retryAfterSeconds: decision.retryAfterSeconds },
    );
  }
  if (!principal.permissions.has(permission)) throw ContactsError.forbidden(permission);
  return principal;
}

/** 429 `rate_limited` with a Retry-After: the tenant already runs as much of this work as it may. */
export function busy(message: string, retryAfterSeconds: number): ContactsError {
  return new ContactsError(
    "TOO_MANY_REQUESTS",
    [{ reason: ErrorReason.rateLimited, field: null, message: `${message}; retry when one ends` }],
    { retryAfterSeconds },
  );
}

/**
 * The JSON answer of a plain HTTP route for anything thrown: `{ errors: [{ reason, field }], message }`
 * with the error's status (MikroORM errors mapped as in tRPC); a bug is a logged 500.
 */
export function routeError(c: Context, error: unknown, log: ApiServices["log"]): Response {
  const mapped = toContactsError(error);
  if (!mapped) {
    log.error(loggableError(error), "route failed");
    return c.json(
      { message: "internal error", errors: [{ reason: ErrorReason.internal, field: null }] },
      500,
    );
  }
  const retryAfter = mapped.details?.retryAfterSeconds;
  if (retryAfter !== undefined) c.header("retry-after", String(Math.ceil(Number(retryAfter))));
  return c.json(
    {
      message: mapped.message,
      errors: mapped.errors.map(({ reason, field }) => ({ reason, field })),
      ...(mapped.details ? { details: mapped.details } : {}),
    },
    ErrorKind[mapped.kind],
  );
}
