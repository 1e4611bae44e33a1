import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";

import type { FieldError } from "@contacts/domain/errors";
import type { ImportOptionsInput, ImportState } from "@contacts/domain/import-job";
import type { ContactSearchInput } from "@contacts/domain/search";

import { ContactsApiError } from "./errors.js";

/** Where and as whom the CSV routes are called (the same options as `createContactsClient`). */
export interface CsvRouteOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** A tenant API key or service token. */
  apiKey: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** What `uploadImport` answers: the import and whether the upload found it already there. */
export interface ImportCreated {
  importId: string;
  state: ImportState;
  /** True when the same `Idempotency-Key`, or the same file with the same options, was uploaded before. */
  existing: boolean;
}

/** Upload options: the import's options plus the retry key. */
export type UploadImportOptions = ImportOptionsInput & {
  /** Sent as `Idempotency-Key`: a retried upload with the same key answers with the first import. */
  idempotencyKey?: string;
};

const CODE_BY_STATUS: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  429: "TOO_MANY_REQUESTS",
};

async function failure(response: Response): Promise<ContactsApiError> {
  let body: { message?: string; errors?: FieldError[]; details?: Record<string, unknown> } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON: described by the status alone
  }
  return new ContactsApiError(body.message ?? `HTTP ${response.status}`, {
    code: CODE_BY_STATUS[response.status] ?? "INTERNAL_SERVER_ERROR",
    status: response.status,
    errors: body.errors ?? [{ reason: "internal", field: null }],
    ...(body.details ? { details: body.details } : {}),
  });
}

async function call(options: CsvRouteOptions, path: string, init: RequestInit = {}): Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(`${options.url.replace(/\/+$/, "")}${path}`, {
      ...init,
      headers: {
        ...options.headers,
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${options.apiKey}`,
      },
    });
  } catch (error) {
    throw new ContactsApiError(error instanceof Error ? error.message : String(error), {
      code: "INTERNAL_SERVER_ERROR",
      status: 0,
      errors: [{ reason: "internal", field: null }],
      cause: error,
    });
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/**
 * Uploads a CSV file (`POST /v1/imports`) and answers at once with the import's id; follow it with
 * `imports.get`. `file` is a path, the bytes, or a stream (sent as it is read).
 *
 * ```ts
 * const { importId } = await uploadImport({ url, apiKey }, "contacts.csv", { mode: "upsert" });
 * ```
 *
 * Rejects with a ContactsApiError (413 `payload_too_large` on `file` past the size limit, 400 naming
 * the option for a bad one).
 */
export async function uploadImport(
  options: CsvRouteOptions,
  file: string | Uint8Array | ReadableStream<Uint8Array> | Readable,
  importOptions: UploadImportOptions = {},
): Promise<ImportCreated> {
  const { idempotencyKey, mapping, dryRun, mode, matchOn, accountId, fileName } = importOptions;
  const query = new URLSearchParams();
  if (mode) query.set("mode", mode);
  if (matchOn) query.set("matchOn", matchOn);
  if (accountId) query.set("accountId", accountId);
  const name = fileName ?? (typeof file === "string" ? basename(file) : undefined);
  if (name) query.set("fileName", name);
  if (dryRun !== undefined) query.set("dryRun", String(dryRun));
  if (mapping && Object.keys(mapping).length > 0) query.set("mapping", JSON.stringify(mapping));
  let body: NonNullable<RequestInit["body"]>;
  if (typeof file === "string") body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
  else if (file instanceof Readable) body = Readable.toWeb(file) as ReadableStream<Uint8Array>;
  else body = file;
  const response = await call(options, `/v1/imports?${query.toString()}`, {
    method: "POST",
    body,
    headers: {
      "content-type": "text/csv",
      ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
    },
    // A streamed request body (Node's fetch requires saying so).
    duplex: "half",
  });
  return (await response.json()) as ImportCreated;
}

/** The export's filters: those of `contacts.search` without paging or projection. */
export type ContactExportFilters = Omit<ContactSearchInput, "cursor" | "limit" | "fields">;

/**
 * The contacts matching `filters` as CSV (`GET /v1/exports/contacts.csv`), in the layout the
 * importer reads, masked for the caller. The body is streamed: pipe it somewhere.
 */
export async function exportContacts(
  options: CsvRouteOptions,
  filters: Partial<ContactExportFilters> = {},
): Promise<ReadableStream<Uint8Array>> {
  const query =
    Object.keys(filters).length > 0 ? `?search=${encodeURIComponent(JSON.stringify(filters))}` : "";
  const response = await call(options, `/v1/exports/contacts.csv${query}`);
  if (!response.body) throw new Error("the export answered without a body");
  return response.body;
}

/**
 * An import's failed records as CSV, with an `Error` column: fix them and upload the file again
 * (the `Error` column is ignored).
 */
export async function downloadFailedRows(
  options: CsvRouteOptions,
  importId: string,
): Promise<ReadableStream<Uint8Array>> {
  const response = await call(options, `/v1/imports/${encodeURIComponent(importId)}/failed-rows.csv`);
  if (!response.body) throw new Error("the report answered without a body");
  return response.body;
}
