import {
  DriverException,
  ForeignKeyConstraintViolationException,
  NotFoundError,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from "@mikro-orm/core";
import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { ZodError } from "zod";
import { ContactsError, ErrorReason, fieldErrorsFromZod } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";

/** PostgreSQL's `query_canceled`: here, a statement past `statement_timeout`. */
const QUERY_CANCELED = "57014";

/** The SQLSTATE of a driver error, on MikroORM's wrapper or the pg error it wraps. */
function sqlState(error: unknown): string | undefined {
  if (error instanceof DriverException) return error.code ?? sqlState(error.cause);
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

/**
 * Converts anything a procedure throws into a ContactsError: domain errors pass through,
 * MikroORM's not-found / unique / foreign-key / optimistic-lock errors get their API meaning.
 * Returns null for what is a bug (reported as 500).
 */
export function toContactsError(error: unknown): ContactsError | null {
  if (error instanceof ContactsError) return error;
  if (error instanceof NotFoundError) return ContactsError.notFound("id");
  if (error instanceof OptimisticLockError) {
    return new ContactsError("PRECONDITION_FAILED", [
      { reason: ErrorReason.versionMismatch, field: "expectedVersion" },
    ]);
  }
  if (error instanceof UniqueConstraintViolationException) {
    return ContactsError.conflict(ErrorReason.duplicate, null);
  }
  if (error instanceof ForeignKeyConstraintViolationException) {
    return ContactsError.conflict(ErrorReason.referenced, null);
  }
  if (sqlState(error) === QUERY_CANCELED) {
    return new ContactsError("SERVICE_UNAVAILABLE", [
      {
        reason: ErrorReason.timeout,
        field: null,
        message: "the query ran past the statement timeout; narrow the filters or retry",
      },
    ]);
  }
  return null;
}

/** Wraps a ContactsError as the TRPCError carrying it, so the error formatter can read it. */
export function toTrpcError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    // Input validation errors keep their ZodError cause: the formatter reads it with the raw input.
    if (error.cause instanceof ZodError) return error;
    const mapped = toContactsError(error.cause);
    return mapped ? new TRPCError({ code: mapped.kind, message: mapped.message, cause: mapped }) : error;
  }
  const mapped = toContactsError(error);
  if (mapped) return new TRPCError({ code: mapped.kind, message: mapped.message, cause: mapped });
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: error });
}

const REASON_BY_CODE: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorReason>> = {
  BAD_REQUEST: ErrorReason.invalid,
  PARSE_ERROR: ErrorReason.invalid,
  UNAUTHORIZED: ErrorReason.unauthenticated,
  FORBIDDEN: ErrorReason.forbidden,
  NOT_FOUND: ErrorReason.notFound,
  CONFLICT: ErrorReason.conflict,
  PRECONDITION_FAILED: ErrorReason.versionMismatch,
  PAYLOAD_TOO_LARGE: ErrorReason.payloadTooLarge,
  TOO_MANY_REQUESTS: ErrorReason.rateLimited,
  METHOD_NOT_SUPPORTED: ErrorReason.invalid,
  TIMEOUT: ErrorReason.timeout,
  SERVICE_UNAVAILABLE: ErrorReason.timeout,
};

/** The `errors: [{ reason, field }]` list every error body carries. */
export function fieldErrorsOf(error: TRPCError, input: unknown): FieldError[] {
  const cause = error.cause;
  if (cause instanceof ContactsError) return cause.errors.map(({ reason, field }) => ({ reason, field }));
  if (cause instanceof ZodError) {
    return fieldErrorsFromZod(cause.issues, undefined, { input }).map(({ reason, field }) => ({
      reason,
      field,
    }));
  }
  return [{ reason: REASON_BY_CODE[error.code] ?? ErrorReason.internal, field: null }];
}
