import { TRPCClientError } from "@trpc/client";
import type { FieldError } from "@contacts/domain/errors";

/**
 * The error every client call rejects with: the HTTP status, the tRPC code and the field errors.
 * It extends TRPCClientError so tRPC passes it through unchanged.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the router type is not needed to read errors
export class ContactsApiError extends TRPCClientError<any> {
  /** tRPC error code, e.g. `BAD_REQUEST`, `NOT_FOUND`. */
  readonly code: string;
  /** HTTP status, e.g. 400. */
  readonly status: number;
  /** What went wrong and where: `[{ reason, field }]`. */
  readonly errors: FieldError[];
  /** Extra detail the server attached (e.g. `currentVersion` on a 412). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    message: string,
    init: {
      code: string;
      status: number;
      errors: FieldError[];
      details?: Record<string, unknown>;
      cause?: unknown;
    },
  ) {
    super(message, { cause: init.cause instanceof Error ? init.cause : undefined });
    // TRPCClientError's constructor resets the prototype to its own: without this, `instanceof
    // ContactsApiError` would be false for every ContactsApiError.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "ContactsApiError";
    this.code = init.code;
    this.status = init.status;
    this.errors = init.errors;
    this.details = init.details;
  }
}

interface ErrorData {
  code?: string;
  httpStatus?: number;
  errors?: FieldError[];
  details?: Record<string, unknown>;
}

/** Turns whatever a tRPC call threw into a ContactsApiError (network errors included). */
export function toContactsApiError(error: unknown): ContactsApiError {
  if (error instanceof ContactsApiError) return error;
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? (error.shape as { data?: ErrorData } | undefined)?.data ?? {}) as ErrorData;
    return new ContactsApiError(error.message, {
      code: data.code ?? "INTERNAL_SERVER_ERROR",
      status: data.httpStatus ?? 500,
      errors: data.errors ?? [{ reason: "internal", field: null }],
      ...(data.details ? { details: data.details } : {}),
      cause: error,
    });
  }
  return new ContactsApiError(error instanceof Error ? error.message : String(error), {
    code: "INTERNAL_SERVER_ERROR",
    status: 0,
    errors: [{ reason: "internal", field: null }],
    cause: error,
  });
}
