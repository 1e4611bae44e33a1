import { initTRPC } from "@trpc/server";
import type { Permission } from "@contacts/domain/permissions";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { TaxIdRevealEntity } from "@contacts/db/entities/tax-id-reveal.entity";

import { authenticate, credentialFor } from "../auth/authenticate.js";
import { looksLikeJwt } from "../auth/jwt.js";
import { ContactViewer } from "../contacts/contact.dto.js";
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

/**
 * A valid bearer credential is required. Each call runs in one transaction bound to the caller's
 * tenant (row-level security reads it): authentication, the tenant's rate limit, the procedure, and
 * the record of any tax ID shown unmasked all commit together or not at all.
 */
export const authedProcedure = publicProcedure.use(async ({ ctx, next, path }) => {
  const token = ctx.bearerToken;
  if (!token) throw ContactsError.unauthenticated();
  // A fresh EntityManager per call: the calls of one HTTP batch share a context, and must not share
  // an identity map (one call's loaded rows would be another's stale copies).
  return ctx.services.orm.em.fork().transactional(async (tx) => {
    const principal = await authenticate(tx, ctx.services, token, ctx.tenantHeader);
    if (!principal) throw ContactsError.unauthenticated("the bearer token is not valid");
    const decision = ctx.services.rateLimiter.take(
      principal.tenantId,
      principal.tenantSettings.limits.requestsPerMinute,
    );
    if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
    const viewer = new ContactViewer(principal, ctx.services.vault);
    const log = ctx.log.child({ tenantId: principal.tenantId, subject: principal.subject });
    const result = await next({ ctx: { ...ctx, em: tx, log, principal, viewer } });
    if (!result.ok) throw result.error;
    await recordReveals(tx, viewer, ctx.requestId, path);
    return result;
  });
});

function rateLimited(retryAfterSeconds: number): ContactsError {
  return new ContactsError(
    "TOO_MANY_REQUESTS",
    [
      {
        reason: ErrorReason.rateLimited,
        field: null,
        message: `rate limit reached; retry in ${retryAfterSeconds}s`,
      },
    ],
    { retryAfterSeconds },
  );
}

/** Writes who saw which contact's tax ID unmasked, in the request's transaction. */
async function recordReveals(tx: EntityManager, viewer: ContactViewer, requestId: string, via: string) {
  if (viewer.revealed.size === 0) return;
  const revealedAt = new Date();
  for (const contactId of viewer.revealed) {
    tx.create(TaxIdRevealEntity, {
      tenantId: viewer.principal.tenantId,
      id: randomUUID(),
      contactId,
      revealedBy: viewer.principal.subject,
      revealedAt,
      requestId,
      via,
    });
  }
  await tx.flush();
}

/** Requires `permission`; the only way procedures check permissions. */
export function procedureWith(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!ctx.principal.permissions.has(permission)) throw ContactsError.forbidden(permission);
    return next();
  });
}

/** Procedures of the calling portal user (`me.*`): only a user ID token has a user. */
export const userProcedure = authedProcedure.use(({ ctx, next }) => {
  const userId = ctx.principal.userId;
  if (!userId) {
    throw new ContactsError("FORBIDDEN", [
      { reason: ErrorReason.forbidden, field: null, message: "a user ID token is required" },
    ]);
  }
  return next({ ctx: { ...ctx, userId } });
});

/**
 * Platform operations (creating tenants): a service token valid for every tenant (`tenants: "*"`)
 * holding `admin`. Runs outside any tenant; the procedure binds its transaction itself. Any other
 * valid credential is a 403, an invalid one a 401.
 */
export const platformProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const token = ctx.bearerToken;
  if (!token) throw ContactsError.unauthenticated();
  const platform = looksLikeJwt(token) ? await ctx.services.jwt?.platformCredential(token) : null;
  if (!platform) {
    const other = await ctx.em.transactional((tx) =>
      credentialFor(tx, ctx.services, token, ctx.tenantHeader),
    );
    if (!other) throw ContactsError.unauthenticated("the bearer token is not valid");
    throw new ContactsError("FORBIDDEN", [
      { reason: ErrorReason.forbidden, field: null, message: "a platform service token is required" },
    ]);
  }
  if (!platform.permissions.has("admin")) throw ContactsError.forbidden("admin");
  return next({ ctx: { ...ctx, platform } });
});

/**
 * Requires `permission` when the validated input sets `field` (a filter on a protected value, say).
 * Used after `.input()`, so it sees the parsed input.
 */
export function requireForField(field: string, permission: Permission) {
  return t.middleware(({ ctx, input, next }) => {
    const given =
      typeof input === "object" && input !== null && (input as Record<string, unknown>)[field] !== undefined;
    if (given && !ctx.principal?.permissions.has(permission)) throw ContactsError.forbidden(permission);
    return next();
  });
}
