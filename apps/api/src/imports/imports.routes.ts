import { createHash, randomUUID } from "node:crypto";

import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { parse } from "csv-parse";
import { stringify } from "csv-stringify/sync";
import type { Context, Hono } from "hono";
import { ContactsError, ErrorReason, fieldErrorsFromZod } from "@contacts/domain/errors";
import { loggableError } from "@contacts/db/loggable-error";
import { unsafeTextError } from "@contacts/domain/text";
import { CSV_PARSE_OPTIONS, ImportOptions, sniffDelimiter } from "@contacts/domain/import-job";
import { neutralizeCell } from "@contacts/domain/csv-layout";
import { inTenant } from "@contacts/db/tenant-scope";
import { tenantLimit } from "@contacts/domain/tenant";
import { Id } from "@contacts/domain/common";

import { busy, routeError, routePrincipal } from "../http/route-auth.js";
import { idempotencyKeyOf } from "../idempotency/idempotency.js";
import type { ApiServices } from "../services.js";
import { ImportService, optionsKeyOf } from "./import.service.js";
import type { ImportCreated, ImportRow } from "./import.service.js";

/** Size of the pieces the file is stored in (`import_chunks`). */
const CHUNK_BYTES = 1024 * 1024;
/** Query parameters of `POST /v1/imports` that are booleans or JSON, converted before validation. */
const BOOLEAN_TEXT: Record<string, boolean> = { true: true, "1": true, false: false, "0": false };
const CSV_TYPES = new Set(["text/csv", "application/csv", "text/plain", "application/octet-stream"]);
/** Errors read per query while writing the failed-rows report. */
const ERROR_BATCH = 1000;

/** Stops the upload's transaction when the same file with the same options is already imported. */
class ExistingImport extends Error {
  constructor(readonly row: ImportRow) {
    super("existing import");
  }
}

function timedOut(message: string): ContactsError {
  return new ContactsError("TIMEOUT", [{ reason: ErrorReason.timeout, field: "file", message }]);
}

/**
 * The body's pieces as they arrive, each within `idleSeconds` of the last and all before
 * `deadline`; past either the body is cancelled (the connection closes) and a 408 thrown.
 */
async function* bodyWithin(
  body: ReadableStream<Uint8Array>,
  idleSeconds: number,
  deadline: number,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const wait = Math.min(idleSeconds * 1000, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), Math.max(0, wait));
      });
      const next = await Promise.race([reader.read(), late]).finally(() => clearTimeout(timer));
      if (next === "late") {
        void reader.cancel().catch(() => undefined);
        throw timedOut(
          Date.now() >= deadline
            ? "the file took longer to arrive than the upload may last"
            : `no bytes of the file arrived for ${idleSeconds} s`,
        );
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
}

function tooLarge(maxFileBytes: number): ContactsError {
  return new ContactsError("PAYLOAD_TOO_LARGE", [
    { reason: ErrorReason.payloadTooLarge, field: "file", message: `the file is over ${maxFileBytes} bytes` },
  ]);
}

/** The upload's options from its query string (`dryRun=true`, `mapping={"Header":"field"}`). */
export function importOptionsFromQuery(query: URLSearchParams): ImportOptions {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of query) raw[key] = value;
  if (typeof raw.dryRun === "string") raw.dryRun = BOOLEAN_TEXT[raw.dryRun] ?? raw.dryRun;
  if (typeof raw.mapping === "string") {
    try {
      raw.mapping = JSON.parse(raw.mapping) as unknown;
    } catch {
      throw ContactsError.invalid([{ reason: ErrorReason.invalid, field: "mapping", message: "not JSON" }]);
    }
  }
  const unsafe = unsafeTextError(raw);
  if (unsafe) throw ContactsError.invalid([unsafe]);
  const parsed = ImportOptions.safeParse(raw);
  if (!parsed.success)
    throw ContactsError.invalid(fieldErrorsFromZod(parsed.error.issues, undefined, { input: raw }));
  return parsed.data;
}

/**
 * `POST /v1/imports`: the CSV is the raw body, streamed into `import_chunks` inside the transaction
 * that creates the import row (nothing is stored unless the whole file is). Over the size limit: 413
 * and nothing stored. The same `Idempotency-Key`, or the same file with the same options, answers
 * with the import already there (`existing: true`, 200) instead of creating a second one (202).
 *
 * The transaction holds a pooled connection while the body arrives, so uploads are bounded: so many
 * at once in this process (`uploadLimits.atOnce`, the rest of the pool stays for everything else)
 * and per tenant (its imports limit), a body that stalls or drags on is cut off with a 408, and
 * PostgreSQL ends the session itself if the transaction is left idle past that.
 */
async function upload(c: Context, services: ApiServices): Promise<Response> {
  const { atOnce } = services.uploadLimits;
  const releaseProcess = services.uploadSlots.acquire("*", atOnce);
  if (!releaseProcess) {
    return routeError(c, busy(`${atOnce} uploads are streaming into this server`, 5), services.log);
  }
  let releaseTenant: (() => void) | null = null;
  try {
    return await uploadWithin(c, services, (release) => (releaseTenant = release));
  } finally {
    releaseProcess();
    (releaseTenant as (() => void) | null)?.();
  }
}

async function uploadWithin(
  c: Context,
  services: ApiServices,
  holdTenantSlot: (release: () => void) => void,
): Promise<Response> {
  const { maxFileBytes } = services.importLimits;
  const { idleSeconds, maxSeconds } = services.uploadLimits;
  const deadline = Date.now() + maxSeconds * 1000;
  const id = randomUUID();
  let optionsKey: string | null = null;
  let idempotencyKey: string | null = null;
  let tenantId: string | null = null;
  const existing = async (find: (s: ImportService) => Promise<ImportRow | null>): Promise<Response> => {
    const row = tenantId
      ? await inTenant(services.orm.em.fork(), tenantId, (tx) => find(new ImportService(tx, tenantId ?? "")))
      : null;
    if (!row) throw ContactsError.conflict(ErrorReason.idempotencyInProgress, null);
    return c.json({ importId: row.id, state: row.state, existing: true } satisfies ImportCreated, 200);
  };
  try {
    const created = await services.orm.em.fork().transactional(async (tx) => {
      const principal = await routePrincipal(tx, services, c, "imports:write");
      tenantId = principal.tenantId;
      const imports = new ImportService(tx, principal.tenantId);
      const contentType = (c.req.header("content-type") ?? "application/octet-stream").split(";")[0]?.trim();
      if (!CSV_TYPES.has(contentType?.toLowerCase() ?? "")) {
        throw ContactsError.invalid([
          { reason: ErrorReason.invalid, field: "file", message: "send the CSV as the body (text/csv)" },
        ]);
      }
      const options = importOptionsFromQuery(new URL(c.req.url).searchParams);
      idempotencyKey = idempotencyKeyOf(c.req.header("idempotency-key") ?? null, false);
      if (idempotencyKey) {
        const found = await imports.byIdempotencyKey(idempotencyKey);
        if (found) throw new ExistingImport(found);
      }
      const declared = Number(c.req.header("content-length") ?? NaN);
      if (declared > maxFileBytes) throw tooLarge(maxFileBytes);
      if (options.accountId) await imports.requireAccount(options.accountId);
      // Refused before the file is read; checked again, under a lock, before the commit.
      const maxImports = tenantLimit(principal.tenantSettings, "imports");
      const releaseTenant = services.uploadSlots.acquire(principal.tenantId, maxImports);
      if (!releaseTenant) throw busy(`${maxImports} uploads of this tenant are streaming`, 5);
      holdTenantSlot(releaseTenant);
      await imports.requireImportSlot(maxImports, false);
      // Should this process stop reading without ending the transaction, PostgreSQL ends it.
      const idleMs = Math.ceil((idleSeconds + 30) * 1000);
      await tx.execute(`set local idle_in_transaction_session_timeout = ${idleMs}`);
      await imports.insert({
        id,
        options,
        idempotencyKey,
        limits: services.importLimits,
        createdBy: principal.subject,
      });

      const hash = createHash("sha256");
      let bytes = 0;
      let seq = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let start = "";
      const flush = async () => {
        if (pendingBytes === 0) return;
        const data = Buffer.concat(pending, pendingBytes);
        if (seq === 0) start = data.subarray(0, 65_536).toString("utf8");
        await imports.insertChunk(id, seq++, data);
        pending = [];
        pendingBytes = 0;
      };
      const body = c.req.raw.body;
      if (body) {
        for await (const part of bodyWithin(body, idleSeconds, deadline)) {
          bytes += part.byteLength;
          if (bytes > maxFileBytes) throw tooLarge(maxFileBytes);
          hash.update(part);
          pending.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
          pendingBytes += part.byteLength;
          if (pendingBytes >= CHUNK_BYTES) await flush();
        }
      }
      await flush();
      if (bytes === 0) {
        throw ContactsError.invalid([
          { reason: ErrorReason.required, field: "file", message: "the file is empty" },
        ]);
      }
      const sha256 = hash.digest("hex");
      optionsKey = optionsKeyOf(sha256, options);
      const same = await imports.byOptionsKey(optionsKey);
      if (same) throw new ExistingImport(same);
      await imports.requireImportSlot(maxImports, true, id);
      await imports.completeUpload(id, { sha256, bytes, optionsKey, delimiter: sniffDelimiter(start) });
      return { importId: id, state: "queued", existing: false } satisfies ImportCreated;
    });
    if (services.importJobs) {
      const tenant = tenantId as unknown as string;
      // After the commit: a lost send is made good by the worker's sweep of queued imports.
      await services.importJobs.send({ tenantId: tenant, importId: id }).catch((error: unknown) => {
        services.log.warn(
          { importId: id, errorClass: (error as Error).constructor.name },
          "import job not sent",
        );
      });
    }
    return c.json(created, 202);
  } catch (error) {
    try {
      if (error instanceof ExistingImport) {
        return c.json(
          { importId: error.row.id, state: error.row.state, existing: true } satisfies ImportCreated,
          200,
        );
      }
      // A concurrent upload with the same key or the same file committed first.
      if (error instanceof UniqueConstraintViolationException) {
        const key = idempotencyKey as string | null;
        const optKey = optionsKey as string | null;
        if (key) {
          const byKey = await existing((s) => s.byIdempotencyKey(key));
          return byKey;
        }
        if (optKey) return await existing((s) => s.byOptionsKey(optKey));
      }
      return routeError(c, error, services.log);
    } catch (second) {
      return routeError(c, second, services.log);
    }
  }
}

/**
 * `GET /v1/imports/:id/failed-rows.csv`: the file's header plus an `Error` column, then every record
 * that has errors, as it was in the file (cells neutralized against formulas; the importer undoes
 * that). Streamed: the file is read chunk by chunk and the errors batch by batch, each in its own
 * short transaction, as the client reads.
 */
async function failedRows(c: Context, services: ApiServices): Promise<Response> {
  let row: ImportRow;
  let tenantId: string;
  try {
    const parsedId = Id.safeParse(c.req.param("id"));
    ({ row, tenantId } = await services.orm.em.fork().transactional(async (tx) => {
      const principal = await routePrincipal(tx, services, c, "imports:write");
      if (!parsedId.success) throw ContactsError.notFound("id");
      return {
        row: await new ImportService(tx, principal.tenantId).get(parsedId.data),
        tenantId: principal.tenantId,
      };
    }));
  } catch (error) {
    return routeError(c, error, services.log);
  }
  const inTx = <T>(fn: (s: ImportService) => Promise<T>) =>
    inTenant(services.orm.em.fork(), tenantId, (tx) => fn(new ImportService(tx, tenantId)));

  const parser = parse({ ...CSV_PARSE_OPTIONS, delimiter: row.delimiter ?? ",", max_record_size: 0 });
  // The file into the parser, one chunk at a time, as the parser asks for more.
  void (async () => {
    try {
      for (let seq = 0; ; seq++) {
        const data = await inTx((s) => s.chunk(row.id, seq));
        if (!data) break;
        if (!parser.write(data)) await new Promise((resolve) => parser.once("drain", resolve));
      }
      parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();

  const records = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>;
  let recordNumber = -1; // the header is record 0
  let errors: { record: number; text: string }[] = [];
  let errorsDone = false;
  const encoder = new TextEncoder();
  const line = (cells: string[]) => encoder.encode(stringify([cells.map(neutralizeCell)]));

  /** The error text of record `wanted` ("" when it has none), or null when no later record has errors. */
  const errorTextOf = async (wanted: number): Promise<string | null> => {
    while (errors.length > 0 && (errors[0]?.record ?? 0) < wanted) errors.shift();
    if (errors.length === 0 && !errorsDone) {
      errors = await inTx((s) => s.errorTextsFrom(row.id, wanted, ERROR_BATCH));
      errorsDone = errors.length < ERROR_BATCH;
    }
    const first = errors[0];
    if (!first) return null;
    return first.record === wanted ? first.text : "";
  };

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (true) {
          const next = await records.next();
          if (next.done) {
            controller.close();
            return;
          }
          recordNumber++;
          if (recordNumber === 0) {
            controller.enqueue(line([...next.value, "Error"]));
            return;
          }
          const text = await errorTextOf(recordNumber);
          if (text === null) {
            // Nothing failed past this record: the rest of the file need not be read.
            controller.close();
            parser.destroy();
            return;
          }
          if (text !== "") {
            controller.enqueue(line([...next.value, text]));
            return;
          }
        }
      } catch (error) {
        services.log.error({ importId: row.id, ...loggableError(error) }, "failed-rows report failed");
        controller.error(error);
      }
    },
    cancel() {
      parser.destroy();
    },
  });
  const name = row.file_name.replace(/\.csv$/i, "").replace(/[^A-Za-z0-9._-]/g, "_") || "import";
  return new Response(stream, {
    status: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${name}-failed-rows.csv"`,
    },
  });
}

/** Mounts the import routes (the tRPC `imports.*` procedures do the rest). */
export function mountImportRoutes(
  app: Hono<{ Variables: { requestId: string } }>,
  services: ApiServices,
): void {
  app.post("/v1/imports", (c) => upload(c, services));
  app.get("/v1/imports/:id/failed-rows.csv", (c) => failedRows(c, services));
}
