import { createHash, randomUUID } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import { loggableError } from "@contacts/db/loggable-error";
import { inTenant } from "@contacts/db/tenant-scope";

import { authenticate } from "../auth/authenticate.js";
import type { ApiServices } from "../services.js";

/** The request header, and the field errors about it name. */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** How long a key and the result stored under it are kept. */
const KEEP_HOURS = 24;
/**
 * A claim still "running" after this long is taken over by a retry with the same input: its process
 * most likely died. Safe even if it did not: a call stores its result only if its claim is still its
 * own, in the same transaction as its writes, so a call whose claim was taken rolls back (409).
 */
const TAKEOVER_SECONDS = 60;
/** Each API process purges every tenant's expired keys at most this often (on a keyed call). */
const PURGE_EVERY_MS = 60_000;

/** 1-255 printable ASCII characters (a UUID is the usual choice). */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

function invalidKey(message: string): ContactsError {
  return ContactsError.invalid([{ reason: ErrorReason.invalid, field: IDEMPOTENCY_HEADER, message }]);
}

/**
 * Checks an `Idempotency-Key` header: null when absent. A batched call may not carry one (one
 * header would cover several calls): send a keyed mutation alone.
 */
export function idempotencyKeyOf(header: string | null, batched: boolean): string | null {
  if (header === null) return null;
  if (!KEY_PATTERN.test(header)) throw invalidKey("1 to 255 printable ASCII characters");
  if (batched) throw invalidKey("a key covers one call: send the mutation alone, not in a batch");
  return header;
}

/**
 * For platform mutations (creating a tenant): their answer holds a new API key, which is never
 * stored; a retry with the same tenant id is refused as a duplicate (409) instead.
 */
export function idempotencyKeyUnsupported(): ContactsError {
  return invalidKey("not supported here: retry with the same tenant id (a duplicate is a 409)");
}

/** JSON with object keys sorted at every level, so equal inputs hash equally however sent. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return value === undefined ? "null" : JSON.stringify(value);
}

/** SHA-256 of the procedure path and its canonical input. */
export function fingerprintOf(path: string, input: unknown): string {
  return createHash("sha256")
    .update(`${path}\n${canonicalJson(input)}`)
    .digest("hex");
}

/** A key this call holds: its result is stored with `complete`, or the key freed with `release`. */
export interface IdempotencyClaim {
  /** Stores `data` as the key's result in the call's own transaction (bound to the tenant). */
  complete(tx: EntityManager, data: unknown): Promise<void>;
  /** Frees the key after the call failed (its transaction rolled back), so a retry runs again. */
  release(): Promise<void>;
}

/** Either the key is this call's to run, or an earlier call's result is replayed. */
export type ClaimOutcome = { claim: IdempotencyClaim } | { replay: unknown };

interface KeyRow {
  fingerprint: string;
  state: "running" | "completed";
  response: { data?: unknown } | null;
}

/**
 * Claims the key (null: it is ours now) or reads its row (an earlier call holds it); undefined when
 * the row went away in between.
 */
async function claimOrRead(
  tx: EntityManager,
  ids: readonly [string, string, string],
  fingerprint: string,
  claimId: string,
): Promise<KeyRow | null | undefined> {
  // A new key, an expired one, or a dead call's claim on the same input becomes ours.
  const claimed = await tx.execute<{ claim_id: string }[]>(
    `insert into idempotency_keys as k (tenant_id, caller, key, fingerprint, claim_id, state, created_at, expires_at)
     values (?, ?, ?, ?, ?, 'running', now(), now() + make_interval(hours => ${KEEP_HOURS}))
     on conflict (tenant_id, caller, key) do update
       set fingerprint = excluded.fingerprint, claim_id = excluded.claim_id, state = 'running',
           response = null, created_at = excluded.created_at, expires_at = excluded.expires_at
       where k.expires_at <= now()
          or (k.state = 'running' and k.fingerprint = excluded.fingerprint
              and k.created_at <= now() - make_interval(secs => ${TAKEOVER_SECONDS}))
     returning claim_id`,
    [...ids, fingerprint, claimId],
  );
  if (claimed.length > 0) return null;
  const rows = await tx.execute<KeyRow[]>(
    "select fingerprint, state, response from idempotency_keys where tenant_id = ? and caller = ? and key = ?",
    [...ids],
  );
  return rows[0];
}

let lastPurge = 0;

/** Deletes every tenant's expired keys, at most once a minute per process, outside any tenant. */
async function purgeExpired(services: ApiServices): Promise<void> {
  if (Date.now() - lastPurge < PURGE_EVERY_MS) return;
  lastPurge = Date.now();
  try {
    await services.orm.em.fork().execute("select purge_expired_idempotency_keys()");
  } catch (error) {
    // Expired keys are never replayed; a failed purge only delays their deletion to the next one.
    services.log.warn(loggableError(error), "idempotency key purge failed");
  }
}

/**
 * Claims `key` for this caller (tenant and credential) in a short transaction of its own, committed
 * before the mutation starts, so a concurrent retry sees the key running. Authenticates in that
 * transaction (the call's own transaction authenticates again, usually from the principal cache).
 * Throws 409 while the first call runs, 422 when the key was used for another procedure or input.
 */
export async function claimIdempotencyKey(
  services: ApiServices,
  credentials: { token: string; tenantHeader: string | null },
  call: { key: string; path: string; input: unknown },
): Promise<ClaimOutcome> {
  await purgeExpired(services);
  const fingerprint = fingerprintOf(call.path, call.input);
  const claimId = randomUUID();
  const em = services.orm.em.fork();
  const { tenantId, caller, existing } = await em.transactional(async (tx) => {
    const principal = await authenticate(tx, services, credentials.token, credentials.tenantHeader);
    if (!principal) throw ContactsError.unauthenticated("the bearer token is not valid");
    const ids = [principal.tenantId, principal.subject, call.key] as const;
    // A key freed between the insert and the select is claimed on the next round.
    for (let round = 0; ; round++) {
      const existing = await claimOrRead(tx, ids, fingerprint, claimId);
      if (existing !== undefined)
        return { tenantId: principal.tenantId, caller: principal.subject, existing };
      if (round === 2) throw ContactsError.conflict(ErrorReason.idempotencyInProgress, IDEMPOTENCY_HEADER);
    }
  });
  if (existing) {
    if (existing.fingerprint !== fingerprint) {
      throw new ContactsError("UNPROCESSABLE_CONTENT", [
        {
          reason: ErrorReason.idempotencyKeyReused,
          field: IDEMPOTENCY_HEADER,
          message: "this key was used for another procedure or input",
        },
      ]);
    }
    if (existing.state === "running") {
      throw ContactsError.conflict(ErrorReason.idempotencyInProgress, IDEMPOTENCY_HEADER);
    }
    return { replay: existing.response?.data };
  }
  return {
    claim: {
      async complete(tx, data) {
        // The result is stored iff the call commits. Undefined data stays undefined (`{}`).
        const updated = await tx.execute<{ claim_id: string }[]>(
          `update idempotency_keys set state = 'completed', response = ?::json
           where tenant_id = ? and caller = ? and key = ? and claim_id = ?
           returning claim_id`,
          [JSON.stringify({ data }), tenantId, caller, call.key, claimId],
        );
        if (updated.length !== 1) {
          // Taken over by a retry (this call ran past TAKEOVER_SECONDS): its result is the one kept.
          throw ContactsError.conflict(ErrorReason.idempotencyInProgress, IDEMPOTENCY_HEADER);
        }
      },
      async release() {
        await inTenant(services.orm.em.fork(), tenantId, (tx) =>
          tx.execute(
            `delete from idempotency_keys
             where tenant_id = ? and caller = ? and key = ? and claim_id = ? and state = 'running'`,
            [tenantId, caller, call.key, claimId],
          ),
        );
      },
    },
  };
}
