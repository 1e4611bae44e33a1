/**
 * A parse thread of one import: reads the file from `import_chunks`, parses it (csv-parse), applies
 * the in-file duplicate rule to every record, validates and normalizes the records of its share of
 * the batches with the domain schema, and hands them to the main thread, at most two ahead, so
 * validation runs on the free cores while PostgreSQL merges the previous batch.
 */
import { hash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

import { parse } from "csv-parse";
import type { CsvError } from "csv-parse";
import { resolveCsvMapping } from "@contacts/domain/csv-layout";
import { ErrorReason } from "@contacts/domain/errors";
import { isUnsafeText, unsafeTextReason } from "@contacts/domain/text";
import pg from "pg";

import { csvParseOptions, sniffDelimiter } from "./csv-format.js";
import { FingerprintSet } from "./fingerprint-set.js";
import { RecordValidator } from "./import-record.js";
import type { RecordResult } from "./import-record.js";
import type { ParseThreadCommand, ParseThreadInput, ParseThreadMessage } from "./protocol.js";

/** Batches sent but not yet taken by the main thread. */
const AHEAD = 2;

const input = workerData as ParseThreadInput;
const port = parentPort;
if (!port) throw new Error("parse-thread runs as a worker thread");

let credits = AHEAD;
let wake: (() => void) | null = null;
port.on("message", (_command: ParseThreadCommand) => {
  credits++;
  wake?.();
});

function post(message: ParseThreadMessage): void {
  port?.postMessage(message);
}

async function sendBatch(records: RecordResult[], last: number): Promise<void> {
  while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
  wake = null;
  credits--;
  post({ type: "batch", records, last });
}

/** The file's bytes, one stored chunk at a time (never the whole file in memory). */
async function* fileChunks(client: pg.Client): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const found = await client.query<{ data: Buffer }>(
      "select data from import_chunks where tenant_id = $1 and import_id = $2 and seq = $3",
      [input.tenantId, input.importId, seq],
    );
    const row = found.rows[0];
    if (!row) return;
    yield row.data;
  }
}

class FileError extends Error {}

/** The known roles and accounts among a batch's references (one query each). */
async function checkReferences(
  client: pg.Client,
  results: RecordResult[],
  validator: RecordValidator,
  raw: Map<number, string[]>,
): Promise<void> {
  const roles = new Set<string>();
  const accounts = new Set<string>();
  for (const r of results) {
    if (r.ok !== true) continue;
    r.data.roles.forEach((code) => roles.add(code));
    if (r.data.accountId) accounts.add(r.data.accountId);
  }
  const knownRoles = new Set(
    roles.size
      ? (
          await client.query<{ code: string }>(
            "select code from roles where tenant_id = $1 and code = any($2::text[])",
            [input.tenantId, [...roles]],
          )
        ).rows.map((r) => r.code)
      : [],
  );
  const knownAccounts = new Set(
    accounts.size
      ? (
          await client.query<{ id: string }>(
            "select id from accounts where tenant_id = $1 and id = any($2::uuid[])",
            [input.tenantId, [...accounts]],
          )
        ).rows.map((r) => r.id)
      : [],
  );
  results.forEach((r, i) => {
    if (r.ok !== true) return;
    const values = raw.get(r.recordNumber) ?? [];
    const errors = [];
    if (r.data.roles.some((code) => !knownRoles.has(code)))
      errors.push(validator.error("roles", ErrorReason.unknownReference, values));
    if (r.data.accountId && !knownAccounts.has(r.data.accountId)) {
      errors.push(
        validator.raw(values, "accountId")?.trim()
          ? validator.error("accountId", ErrorReason.unknownReference, values)
          : { column: null, reason: ErrorReason.unknownReference, value: r.data.accountId },
      );
    }
    if (errors.length) results[i] = { ok: false, recordNumber: r.recordNumber, errors };
  });
}

/** A record of this thread's current batch, validated when the batch is complete. */
interface Pending {
  recordNumber: number;
  values: string[];
  /** The external id as the duplicate rule compared it (null: none, or a malformed record). */
  externalId: string | null;
  repeatedId: boolean;
  repeatedEmail: boolean;
}

/** The hash of a source record under the file's header, mapping and default account. */
function sourceHash(signature: string, values: readonly string[]): string {
  return hash("sha256", `${signature}\n${JSON.stringify(values)}`, "base64");
}

/**
 * In an upsert by external id, the source hashes stored on the batch's contacts (one index probe
 * per id), by external id; null when records cannot be skipped (other modes).
 */
async function storedSourceHashes(
  client: pg.Client,
  pending: readonly Pending[],
): Promise<Map<string, string> | null> {
  if (input.mode !== "upsert" || input.matchOn !== "externalId") return null;
  const ids = pending.flatMap((p) => (p.externalId === null ? [] : [p.externalId]));
  const found = ids.length
    ? await client.query<{ external_id: string; hash: string }>(
        `select k.external_id, c.hash from unnest($2::text[]) as k(external_id)
           cross join lateral (
             select import_source_hash as hash from contacts c
              where c.tenant_id = $1 and c.external_id = k.external_id and import_source_hash is not null limit 1
           ) c`,
        [input.tenantId, ids],
      )
    : { rows: [] };
  return new Map(found.rows.map((r) => [r.external_id, r.hash]));
}

async function run(): Promise<void> {
  const client = new pg.Client({ connectionString: input.appUrl, application_name: "contacts-import-parse" });
  await client.connect();
  try {
    await client.query("select set_config('app.tenant_id', $1, false)", [input.tenantId]);
    const chunks = fileChunks(client);
    const first = await chunks.next();
    if (first.done) throw new FileError("the file is empty");
    let head: Buffer = first.value;
    // The first line decides the delimiter: read on until it is complete (or 64 KiB long).
    while (!head.includes(0x0a) && head.length < 65_536) {
      const next = await chunks.next();
      if (next.done) break;
      head = Buffer.concat([head, next.value]);
    }
    let firstLine: string;
    try {
      const start = head.subarray(0, Math.min(head.length, 65_536));
      firstLine = new TextDecoder("utf-8", { fatal: true }).decode(start, { stream: true });
    } catch {
      throw new FileError("not a CSV file: the file is not UTF-8 text");
    }
    // A NUL in the header line marks a binary file; one in a record fails only that record (import-record.ts).
    const newline = firstLine.indexOf("\n");
    if ((newline < 0 ? firstLine : firstLine.slice(0, newline)).includes("\u0000"))
      throw new FileError("not a CSV file: the file is binary");
    const delimiter = sniffDelimiter(firstLine);
    const { limits } = input;
    const parser = parse(
      csvParseOptions(delimiter, limits.maxFieldBytes * limits.maxColumns + limits.maxColumns),
    );
    const feed = (async () => {
      try {
        parser.write(head);
        head = Buffer.alloc(0);
        for await (const chunk of chunks) {
          if (!parser.write(chunk)) await new Promise((resolve) => parser.once("drain", resolve));
        }
        parser.end();
      } catch (error) {
        parser.destroy(error as Error);
      }
    })();

    let validator: RecordValidator | null = null;
    let recordNumber = 0;
    const seenExternalIds = new FingerprintSet();
    const seenEmails = new FingerprintSet();
    let pending: Pending[] = [];
    let batchIndex = 0;
    let batchLength = 0;
    let batchChars = 0;
    let sourceSignature = "";
    const flush = async () => {
      if (!pending.length || !validator) return;
      const v = validator;
      const stored = await storedSourceHashes(client, pending);
      const batch: RecordResult[] = [];
      const raw = new Map<number, string[]>();
      for (const { recordNumber: n, values, externalId, repeatedId, repeatedEmail } of pending) {
        // Stored with every contact the record writes, so a later upsert of the same file skips it.
        const digest = sourceHash(sourceSignature, values);
        if (externalId !== null && !repeatedId && stored?.get(externalId) === digest) {
          batch.push({ ok: "same", recordNumber: n });
          continue;
        }
        let result = v.validate(n, values);
        if (repeatedId || repeatedEmail) {
          const errors = result.ok === false ? result.errors : [];
          if (repeatedId) errors.push(v.error("externalId", ErrorReason.duplicate, values));
          if (repeatedEmail) errors.push(v.error("email", ErrorReason.duplicate, values));
          result = { ok: false, recordNumber: n, errors };
        }
        if (result.ok === true) {
          result.sourceHash = digest;
          raw.set(n, values);
        }
        batch.push(result);
      }
      await checkReferences(client, batch, v, raw);
      await sendBatch(batch, recordNumber);
      pending = [];
    };
    try {
      for await (const values of parser as AsyncIterable<string[]>) {
        if (!validator) {
          if (values.length > limits.maxColumns)
            throw new FileError(
              `the file has ${values.length} columns, more than the limit of ${limits.maxColumns}`,
            );
          const unsafe = values.findIndex(isUnsafeText);
          if (unsafe >= 0)
            throw new FileError(
              `column ${unsafe + 1} of the header ${unsafeTextReason(values[unsafe] ?? "")}`,
            );
          const mapping = resolveCsvMapping(values, input.mapping);
          const repeated = mapping.repeated[0];
          if (repeated)
            throw new FileError(
              `columns ${repeated.headers.map((h) => `"${h}"`).join(" and ")} are both mapped to ${repeated.field}`,
            );
          if (!mapping.columns.some((f) => f === "firstName" || f === "lastName" || f === "companyName"))
            throw new FileError(
              "not a contacts CSV: the header has neither a name column (First Name, Last Name) nor a Company column",
            );
          validator = new RecordValidator(values, mapping, limits, input.defaultAccountId);
          sourceSignature = JSON.stringify([values, mapping.columns, input.defaultAccountId]);
          post({
            type: "header",
            headers: values,
            columns: mapping.columns,
            delimiter,
            ignored: mapping.ignored,
          });
          continue;
        }
        recordNumber++;
        if (recordNumber > limits.maxRecords) {
          await flush();
          throw new FileError(
            `the file has more than ${limits.maxRecords} records (the limit); records 1 to ${limits.maxRecords} were processed`,
          );
        }
        // The duplicate rule reads every record from the first, also those already committed, so
        // a resumed import decides exactly as an uninterrupted one.
        const wellFormed = values.length === validator.headerCount;
        const externalId = wellFormed ? validator.externalIdKey(values) : null;
        const email = wellFormed && input.matchOn === "email" ? validator.emailKey(values) : null;
        const repeatedId = externalId !== null && seenExternalIds.add(externalId);
        const repeatedEmail = email !== null && seenEmails.add(email);
        if (recordNumber <= input.checkpoint) continue;
        // Batches are runs of records from the checkpoint, ended by batchRecords records or
        // batchChars characters (wide records make smaller batches, so memory stays bounded), and
        // dealt out to the threads: every thread sees every record, so all agree on the boundaries.
        const mine = batchIndex % input.shard.count === input.shard.index;
        if (mine) pending.push({ recordNumber, values, externalId, repeatedId, repeatedEmail });
        batchLength++;
        for (const value of values) batchChars += value.length;
        if (batchLength >= input.batchRecords || batchChars >= input.batchChars) {
          if (mine) await flush();
          batchIndex++;
          batchLength = 0;
          batchChars = 0;
        }
      }
      await feed;
      if (!validator) throw new FileError("the file has no header");
      await flush();
      post({ type: "end", total: recordNumber });
    } catch (error) {
      if (error instanceof Error && "code" in error && String(error.code).startsWith("CSV_")) {
        // csv-parse's messages quote the data; the code says what went wrong without it.
        throw new FileError(
          `not a valid CSV file after record ${recordNumber} (${(error as CsvError).code})`,
        );
      }
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

run().catch((error: unknown) => {
  if (error instanceof FileError) post({ type: "failed", message: error.message });
  else throw error;
});
