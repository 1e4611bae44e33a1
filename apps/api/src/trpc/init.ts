import { initTRPC } from "@trpc/server";
import type { Permission } from "@contacts/domain/permissions";
import { loggableError } from "@contacts/db/loggable-error";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import { unsafeTextError } from "@contacts/domain/text";
import { createHash, randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { TaxIdRevealEntity } from "@contacts/db/entities/tax-id-reveal.entity";
import { inTenant } from "@contacts/db/tenant-scope";

import { authenticate, credentialFor } from "../auth/authenticate.js";
import { looksLikeJwt } from "../auth/jwt.js";
import type { Principal } from "../auth/principal.js";
import { ContactViewer } from "../contacts/contact.dto.js";
import {
  claimIdempotencyKey,
  idempotencyKeyOf,
  idempotencyKeyUnsupported,
} from "../idempotency/idempotency.js";
import type { Context } from "./context.js";
import { fieldErrorsOf, toTrpcError } from "./errors.js";
import type { RouteMeta } from "../rest/route-meta.js";

/** Procedures carry their REST route in `meta.openapi` (rest/route-meta.ts). */
const withMeta = initTRPC.context<Context>().meta<RouteMeta>();
const t = withMeta.create({
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

/**
 * The first step of every call. Text PostgreSQL cannot store (U+0000, a lone surrogate) anywhere in
 * the call's input is a 400 `invalid` on its field before any procedure or schema sees it (domain
 * text.ts holds the rule); every error thrown after it (domain, zod, MikroORM) is converted into its
 * API error here, in one place. One middleware, not two: each step of tRPC's chain copies the call.
 */
const errorMappingAndStorableText = t.middleware(async ({ getRawInput, next }) => {
  try {
    const unstorable = unsafeTextError(await getRawInput());
    if (unstorable) throw ContactsError.invalid([unstorable]);
  } catch (error) {
    throw toTrpcError(error);
  }
  const result = await next();
  if (!result.ok) throw toTrpcError(result.error);
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** No credential needed (health and the like). */
export const publicProcedure = t.procedure.use(errorMappingAndStorableText);

/**
 * `Idempotency-Key` on a mutation (see idempotency.ts): the key is claimed before the call's
 * transaction, the result stored in it, and the key freed again if the call fails. A retry with the
 * same input gets the stored result without running; while the first runs, a 409; with another
 * input, a 422. Queries ignore the header.
 */
const idempotentMutations = t.middleware(async ({ ctx, type, path, getRawInput, next }) => {
  if (type !== "mutation") return next();
  const key = idempotencyKeyOf(ctx.idempotencyKeyHeader, ctx.batched);
  if (key === null || !ctx.bearerToken) return next();
  const outcome = await claimIdempotencyKey(
    ctx.services,
    { token: ctx.bearerToken, tenantHeader: ctx.tenantHeader },
    { key, path, input: await getRawInput() },
  );
  // A replay answers without running the procedure (tRPC does not check the marker at runtime).
  if ("replay" in outcome) {
    return { ok: true as const, data: outcome.replay, marker: "middlewareMarker" as never };
  }
  const result = await next({ ctx: { idempotency: outcome.claim } });
  if (!result.ok) {
    await outcome.claim.release().catch((error: unknown) => {
      // The key stays running until a retry takes it over (idempotency.ts: TAKEOVER_SECONDS).
      ctx.log.warn(loggableError(error), "idempotency key release failed");
    });
  }
  return result;
});

/**
 * A valid bearer credential is required. Each call runs in one transaction bound to the caller's
 * tenant (row-level security reads it): authentication, the tenant's rate limit, the procedure, and
 * the record of any tax ID shown unmasked all commit together or not at all.
 */
export const authedProcedure = publicProcedure.use(idempotentMutations).use(async ({ ctx, next, path }) => {
  const token = ctx.bearerToken;
  if (!token) throw ContactsError.unauthenticated();
  // A fresh EntityManager per call: the calls of one HTTP batch share a context, and must not share
  // an identity map (one call's loaded rows would be another's stale copies).
  const afterCommit: (() => void)[] = [];
  const result = await ctx.services.orm.em.fork().transactional(async (tx) => {
    const principal = await authenticate(tx, ctx.services, token, ctx.tenantHeader);
    if (!principal) throw ContactsError.unauthenticated("the bearer token is not valid");
    const { viewer, log } = await admit(ctx, principal);
    const called = await next({ ctx: { ...ctx, em: tx, log, principal, viewer, afterCommit } });
    if (!called.ok) throw called.error;
    await recordReveals(tx, viewer, ctx.requestId, path);
    await ctx.idempotency?.complete(tx, called.data);
    return called;
  });
  for (const run of afterCommit) run();
  return result;
});

/**
 * The read procedures (`contacts.get`, `search`, `list`, `descendants`): the same checks as
 * authedProcedure (credential, the tenant's rate limit, the permission), but no unit of work. The
 * caller is authenticated from the principal cache, or else in a transaction of its own; each read
 * then runs on the pool as one round trip with the tenant bound (`ctx.reader`, TenantReads in
 * packages/db: forced row-level security applies as on every other path). A tax ID the answer shows
 * unmasked is recorded (who, when, which contact) in a transaction that commits before the answer
 * leaves. `ctx.em` stays the request's unbound fork: bound to no tenant, it sees and may write no
 * tenant's rows (row-level security), so a read procedure reads through `ctx.reader` only.
 */
export function readProcedureWith(permission: Permission) {
  return publicProcedure.use(async ({ ctx, next, path }) => {
    const token = ctx.bearerToken;
    if (!token) throw ContactsError.unauthenticated();
    const services = ctx.services;
    const principal =
      services.principals.get(token, ctx.tenantHeader) ??
      (await services.orm.em
        .fork()
        .transactional((tx) => authenticate(tx, services, token, ctx.tenantHeader)));
    if (!principal) throw ContactsError.unauthenticated("the bearer token is not valid");
    const { viewer, log } = await admit(ctx, principal);
    if (!principal.permissions.has(permission)) throw ContactsError.forbidden(permission);
    const reader = services.reads.for(principal.tenantId);
    const called = await next({ ctx: { ...ctx, reader, log, principal, viewer } });
    if (called.ok && viewer.revealed.size > 0) {
      await inTenant(services.orm.em.fork(), principal.tenantId, (tx) =>
        recordReveals(tx, viewer, ctx.requestId, path),
      );
    }
    return called;
  });
}

/**
 * An authenticated call is charged to its tenant's request budget (429 over it); it gets the one
 * viewer its contacts are shown through and a log bound to its tenant and subject.
 */
async function admit(
  ctx: Context,
  principal: Principal,
): Promise<{ viewer: ContactViewer; log: Context["log"] }> {
  const perMinute = principal.tenantSettings.limits.requestsPerMinute;
  const decision = await ctx.services.rateLimiter.take(principal.tenantId, perMinute);
  if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds, perMinute);
  return {
    viewer: new ContactViewer(principal, ctx.services.vault),
    log: ctx.log.child({ tenantId: principal.tenantId, subject: loggedSubject(principal) }),
  };
}

/** Who is calling, for logs: a portal user's id may be an email address, so it is logged hashed. */
function loggedSubject(principal: Principal): string {
  if (principal.kind !== "user") return principal.subject;
  return `user:#${createHash("sha256").update(principal.subject).digest("hex").slice(0, 16)}`;
}

function rateLimited(retryAfterSeconds: number, perMinute: number): ContactsError {
  return new ContactsError(
    "TOO_MANY_REQUESTS",
    [
      {
        reason: ErrorReason.rateLimited,
        field: null,
        message: `rate limit reached; retry in ${retryAfterSeconds}s`,
      },
    ],
    // secondsPerCall lets a batch's Retry-After cover all of its refused calls, not just one.
    { retryAfterSeconds, secondsPerCall: 60 / perMinute },
  );
}

/** Writes who saw which contact's tax ID unmasked, in the request's transaction. */
export async function recordReveals(
  tx: EntityManager,
  viewer: ContactViewer,
  requestId: string,
  via: string,
) {
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
export const platformProcedure = publicProcedure.use(async ({ ctx, next, type }) => {
  if (type === "mutation" && ctx.idempotencyKeyHeader !== null) throw idempotencyKeyUnsupported();
  const token = ctx.bearerToken;
  if (!token) throw ContactsError.unauthenticated();
  const platform = looksLikeJwt(token) ? await ctx.services.jwt?.platformCredential(token) : null;
  if (!platform) {
    const other = await ctx.services.orm.em
      .fork()
      .transactional((tx) => credentialFor(tx, ctx.services, token, ctx.tenantHeader));
    if (!other) throw ContactsError.unauthenticated("the bearer token is not valid");
    throw new ContactsError("FORBIDDEN", [
      { reason: ErrorReason.forbidden, field: null, message: "a platform service token is required" },
    ]);
  }
  if (!platform.permissions.has("admin")) throw ContactsError.forbidden("admin");
  return next({ ctx: { ...ctx, platform } });
});

/**
 * Requires `permission` when the validated input asks for something it guards (a filter on a
 * protected value, a setting that widens access): `guardedField` names the field that needs it, or
 * returns null when the input asks for nothing guarded. Used after `.input()`.
 */
export function requireForInput(permission: Permission, guardedField: (input: unknown) => string | null) {
  return t.middleware(({ ctx, input, next }) => {
    const field = guardedField(input);
    if (field !== null && !ctx.principal?.permissions.has(permission)) {
      throw new ContactsError("FORBIDDEN", [
        { reason: ErrorReason.forbidden, field, message: `missing permission ${permission}` },
      ]);
    }
    return next();
  });
}

/** Like requireForInput, for what only the platform may change (a tenant's own limits). */
export function platformForInput(guardedField: (input: unknown) => string | null) {
  return t.middleware(({ ctx, input, next }) => {
    const field = guardedField(input);
    if (field !== null && !ctx.principal?.platform) {
      throw new ContactsError("FORBIDDEN", [
        { reason: ErrorReason.forbidden, field, message: "only a platform token may change this" },
      ]);
    }
    return next();
  });
}
