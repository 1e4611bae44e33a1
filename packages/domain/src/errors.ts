import type { z } from "zod";

/**
 * The catalogue of error reasons. Every rejection carries one of these as `reason`, next to the
 * dotted `field` it concerns (or null when it concerns the request as a whole).
 */
export const ErrorReason = {
  /** A value has the wrong type or format. */
  invalid: "invalid",
  /** A required field is missing or empty. */
  required: "required",
  tooShort: "too_short",
  tooLong: "too_long",
  tooSmall: "too_small",
  tooBig: "too_big",
  /** The field is not part of the schema. */
  unknownField: "unknown_field",
  /** The field is set by the server (id, number, version, audit, provenance) and cannot be sent. */
  serverManaged: "server_managed",
  /** More than one list item is marked `primary`. */
  multiplePrimary: "multiple_primary",
  /** A referenced record (account, contact, role) does not exist in this tenant. */
  unknownReference: "unknown_reference",
  notFound: "not_found",
  unauthenticated: "unauthenticated",
  forbidden: "forbidden",
  conflict: "conflict",
  duplicate: "duplicate",
  locked: "locked",
  referenced: "referenced",
  versionMismatch: "version_mismatch",
  /** A JSON Patch `path` or `from` does not resolve in the document. */
  invalidPath: "invalid_path",
  /** A JSON Patch `test` operation found a different value. */
  patchTestFailed: "patch_test_failed",
  /** A pointer names a prototype member (`__proto__`, `constructor`, `prototype`) or the whole contact. */
  forbiddenPath: "forbidden_path",
  payloadTooLarge: "payload_too_large",
  rateLimited: "rate_limited",
  tenantLimit: "tenant_limit",
  /** A change-feed cursor older than the retained events: start over from a full read, then `changes` without `since`. */
  resyncRequired: "resync_required",
  /** The first request with this `Idempotency-Key` is still running: retry once it has ended. */
  idempotencyInProgress: "idempotency_in_progress",
  /** This `Idempotency-Key` was already used for another procedure or input: use a new key. */
  idempotencyKeyReused: "idempotency_key_reused",
  /**
   * Took too long: an upload whose body stopped coming or drags on (408), or a query that ran (or
   * waited for a lock) past the statement timeout (503; narrow the filters, or retry).
   */
  timeout: "timeout",
  internal: "internal",
} as const;
export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

/** One problem with a request: what is wrong (`reason`) and where (`field`, a dotted path, or null). */
export interface FieldError {
  reason: ErrorReason;
  field: string | null;
  message?: string;
}

/** The error kinds of the API contract; names match tRPC error codes. */
export const ErrorKind = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE_CONTENT: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ErrorKind = keyof typeof ErrorKind;

/** A domain error: an error kind plus the list of field errors explaining it. */
export class ContactsError extends Error {
  readonly kind: ErrorKind;
  readonly errors: FieldError[];
  /** Extra machine-readable detail (e.g. the current version on a 412), never PII. */
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, errors: FieldError[], details?: Record<string, unknown>) {
    super(errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; ") || kind);
    this.name = "ContactsError";
    this.kind = kind;
    this.errors = errors;
    this.details = details;
  }

  static invalid(errors: FieldError[]): ContactsError {
    return new ContactsError("BAD_REQUEST", errors);
  }

  static notFound(field: string | null = "id"): ContactsError {
    return new ContactsError("NOT_FOUND", [{ reason: ErrorReason.notFound, field }]);
  }

  static conflict(
    reason: ErrorReason,
    field: string | null,
    details?: Record<string, unknown>,
  ): ContactsError {
    return new ContactsError("CONFLICT", [{ reason, field }], details);
  }

  static unauthenticated(message = "a valid bearer token is required"): ContactsError {
    return new ContactsError("UNAUTHORIZED", [{ reason: ErrorReason.unauthenticated, field: null, message }]);
  }

  static forbidden(permission: string): ContactsError {
    return new ContactsError("FORBIDDEN", [
      { reason: ErrorReason.forbidden, field: null, message: `missing permission ${permission}` },
    ]);
  }
}

/** Dotted path of a zod issue (`emails.0.address`), or null for the root. */
export function issuePath(path: readonly PropertyKey[], prefix?: string): string | null {
  const parts = [...(prefix ? [prefix] : []), ...path.map((p) => String(p))];
  return parts.length ? parts.join(".") : null;
}

const SERVER_MANAGED_KEYS = new Set([
  "id",
  "tenantId",
  "number",
  "version",
  "createdAt",
  "createdBy",
  "updatedAt",
  "updatedBy",
  "provenance",
  "lastBulkImport",
  "mergedIds",
]);

/** True for keys the server sets itself; clients may never send them. */
export function isServerManagedKey(key: string): boolean {
  return SERVER_MANAGED_KEYS.has(key);
}

/** A contact's read-only computed fields (see `ContactComputedFields` in contact.ts). */
const CONTACT_COMPUTED_KEYS = new Set([
  "name",
  "fullName",
  "nameLastFirst",
  "preferredPhone",
  "preferredAddress",
  "accountName",
  "roleNames",
]);

/**
 * True for a contact's keys a client may not send: the server-managed ones and the computed ones
 * (both 400 `server_managed` on create, replace and patch).
 */
export function isReadOnlyContactKey(key: string): boolean {
  return SERVER_MANAGED_KEYS.has(key) || CONTACT_COMPUTED_KEYS.has(key);
}

/** What was sent for a zod issue, when known: `present` false for a missing value. */
type Sent = { known: true; present: boolean } | { known: false };

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Whether the value behind an issue was sent at all. zod 4 drops `input` from issues unless the parse
 * ran with `reportInput`, so the parsed input (when the caller passes it) is read at the issue's path.
 */
function sentValue(issue: z.core.$ZodIssue, source: FieldErrorsOptions | undefined): Sent {
  if ("input" in issue) return { known: true, present: issue.input !== undefined };
  if (source && "input" in source)
    return { known: true, present: valueAt(source.input, issue.path) !== undefined };
  return { known: false };
}

function reasonOf(issue: z.core.$ZodIssue, source: FieldErrorsOptions | undefined): ErrorReason {
  switch (issue.code) {
    case "too_small":
      if (issue.origin === "string") return issue.minimum === 1 ? ErrorReason.required : ErrorReason.tooShort;
      return ErrorReason.tooSmall;
    case "too_big":
      return issue.origin === "string" ? ErrorReason.tooLong : ErrorReason.tooBig;
    case "invalid_type": {
      const sent = sentValue(issue, source);
      // Without the input, zod's own message is the only witness ("..., received undefined").
      const missing = sent.known ? !sent.present : /\breceived undefined$/.test(issue.message);
      return missing ? ErrorReason.required : ErrorReason.invalid;
    }
    case "invalid_value": {
      // A missing enum or literal: only knowable from the input.
      const sent = sentValue(issue, source);
      return sent.known && !sent.present ? ErrorReason.required : ErrorReason.invalid;
    }
    case "custom": {
      const reason = (issue.params as { reason?: ErrorReason } | undefined)?.reason;
      return reason ?? ErrorReason.invalid;
    }
    default:
      return ErrorReason.invalid;
  }
}

/** Extra context for {@link fieldErrorsFromZod}. */
export interface FieldErrorsOptions {
  /** The value that was parsed; lets a missing field be told from a wrongly typed one (`required` vs `invalid`). */
  input?: unknown;
}

/**
 * Turns zod issues into field errors; unknown keys become one error per key. Pass the parsed value as
 * `options.input` so a missing field is reported as `required` in every case (zod 4 keeps the input
 * in its issues only when parsing with `reportInput`).
 */
export function fieldErrorsFromZod(
  issues: readonly z.core.$ZodIssue[],
  prefix?: string,
  options?: FieldErrorsOptions,
): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const topLevel = issue.path.length === 0;
        out.push({
          reason: topLevel && isServerManagedKey(key) ? ErrorReason.serverManaged : ErrorReason.unknownField,
          field: issuePath([...issue.path, key], prefix),
          message:
            topLevel && isServerManagedKey(key) ? `${key} is set by the server` : `unknown field ${key}`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the branch that got furthest rather than a bare "invalid".
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      out.push(
        ...fieldErrorsFromZod(
          best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
          prefix,
          options,
        ),
      );
      continue;
    }
    out.push({
      reason: reasonOf(issue, options),
      field: issuePath(issue.path, prefix),
      message: issue.message,
    });
  }
  return out;
}
