import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";

import { columnOf, toCopyText } from "@contacts/contacts/columns";
import { documentSql, isoSql } from "@contacts/contacts/document";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { ACCOUNT_ADDRESSES_PG_SQL } from "@contacts/db/account-address";
import { ACCOUNT_PHONES_PG_SQL } from "@contacts/db/account-phone";
import { followAccountAddress, followAccountPhone, primaryAddressErrors } from "@contacts/domain/contact";
import type { AccountPostalAddress, ContactData } from "@contacts/domain/contact";
import type { CsvField } from "@contacts/domain/csv-layout";
import { csvFieldOfPath, resolveCsvMapping } from "@contacts/domain/csv-layout";
import { duplicateKeys, matchKeyList } from "@contacts/domain/duplicates";
import { normalizeEmail } from "@contacts/domain/email";
import { ErrorReason } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";
import type { ImportLimits } from "@contacts/domain/import-job";
import { requiresPrimaryAddress } from "@contacts/domain/tenant";
import type { TenantSettings } from "@contacts/domain/tenant";
import { maskLast4 } from "@contacts/domain/masking";
import { diffDocuments } from "@contacts/domain/patch";
import type { JsonValue } from "@contacts/domain/patch";
import { admitNewContacts, contactHeadroom, pgRunner } from "@contacts/contacts/numbers";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Logger } from "pino";

import { arrayLiteral, copyLine } from "./copy-text.js";
import { CSV_KEYS, RecordValidator, presentKeys } from "./import-record.js";
import type { ContactKey, GoodRecord, RecordError, RecordResult } from "./import-record.js";
import type { ParseThreadCommand, ParseThreadInput, ParseThreadMessage } from "./protocol.js";

export interface ImportRunOptions {
  /** The application role's URL: contacts are written under row-level security. */
  appUrl: string;
  vault: TaxIdVault;
  tenantId: string;
  importId: string;
  /** Records per chunk transaction. */
  batchRecords: number;
  /** A chunk also ends once its records hold this many characters (wide files: smaller chunks). */
  batchChars: number;
  /** Parse threads validating batches in turn (at least 1). */
  parseThreads: number;
  log: Logger;
}

export type ImportOutcome = "completed" | "failed" | "cancelled" | "skipped" | "lost";

interface ImportRow {
  state: string;
  mode: "insert" | "upsert";
  match_on: "externalId" | "email";
  dry_run: boolean;
  account_id: string | null;
  mapping: Record<string, CsvField | null>;
  file_name: string;
  limits: ImportLimits;
  checkpoint: string;
  cancel_requested: boolean;
  created_by: string;
}

/** The stored fields an import compares and writes: those the CSV layout fills (the tax ID apart). */
const COMPARED_KEYS = CSV_KEYS.filter((k) => k !== "taxId");

/**
 * The contact columns a chunk stages, from the column map: the compared fields, the documents a new
 * contact needs, the encrypted tax ID and the match keys.
 */
const STAGED = [
  ...COMPARED_KEYS,
  "social",
  "notificationPreferences",
  "customFields",
  "taxIdCiphertext",
  "taxIdKeyId",
  "taxIdIndex",
  "matchKeys",
].map(columnOf);

/** The staging table's columns, in COPY order (created per connection, emptied at each commit). */
const STAGING_COLUMNS: readonly (readonly [string, string])[] = [
  ["op", "text"],
  ["id", "uuid"],
  ["number", "bigint"],
  ["record_number", "integer"],
  ...STAGED.map((c) => [c.column, c.sqlType] as const),
  ["tax_id_masked", "text"],
  ["expected_version", "integer"],
  ["import_source_hash", "text"],
];
const STAGING_NAMES = STAGING_COLUMNS.map(([name]) => name);
/** Columns copied from staging into a new contact. */
const INSERT_COLUMNS = STAGING_NAMES.filter(
  (n) => n !== "op" && n !== "record_number" && n !== "tax_id_masked" && n !== "expected_version",
);

/**
 * A contact matched by a chunk changed between the chunk's read and its update: the chunk is rolled
 * back and written again with the matched rows locked.
 */
class ConcurrentChange extends Error {}

/**
 * A new contact's public document by field, from the inserted row `c` and its staging row `s`: what
 * the API's created events hold (the package's stored document, tax ID masked), built in SQL so a
 * chunk's events cost no JSON round trip.
 */
const CREATED_DOCUMENT = documentSql("c", "s.tax_id_masked");

/** Pairs per jsonb_build_object call: 2 arguments each, under PostgreSQL's limit of 100 arguments. */
const PAIRS_PER_CALL = 40;

/**
 * The created event's JSON Patch: one `add` of the whole document at the root, as the API writes it
 * (`createdPatch`). The document is built by jsonb_build_object calls of at most
 * {@link PAIRS_PER_CALL} pairs joined with `||` (a function takes at most 100 arguments, and the
 * document has more than 50 fields).
 */
const CREATED_PATCH = `jsonb_build_array(jsonb_build_object('op', 'add', 'path', '', 'value', ${Array.from(
  { length: Math.ceil(CREATED_DOCUMENT.length / PAIRS_PER_CALL) },
  (_, i) =>
    `jsonb_build_object(\n  ${CREATED_DOCUMENT.slice(i * PAIRS_PER_CALL, (i + 1) * PAIRS_PER_CALL)
      .map(([field, value]) => `'${field}', ${value}`)
      .join(",\n  ")})`,
).join(" || ")}))`;

/**
 * The last bulk load of a contact this chunk writes (staging row `s`; $2 the time, $4 the import,
 * $5 the file). The provenance columns are the creating load's and are written by the insert only.
 */
const LAST_BULK_IMPORT = `jsonb_build_object('importId', $4::uuid, 'recordNumber', s.record_number,
  'sourceFile', $5::text, 'loadedAt', ${isoSql("$2::timestamptz")})`;

/** A stored contact as an import compares and merges it: the compared fields' columns, and these. */
interface ExistingRow {
  id: string;
  number: string;
  version: number;
  external_id: string | null;
  tax_id_index: string | null;
  tax_id_ciphertext: string | null;
  tax_id_key_id: string | null;
  tax_id_legacy: string | null;
  locked: boolean;
  account_id: string | null;
  link_work_address_to_account: boolean;
  link_work_phone_to_account: boolean;
  match_key?: string;
  [column: string]: unknown;
}

const EXISTING_COLUMNS = [
  "c.id, c.number, c.version, c.locked, c.tax_id_index, c.tax_id_ciphertext, c.tax_id_key_id, c.tax_id as tax_id_legacy",
  // A date compares as the text the domain writes (`YYYY-MM-DD`), not as the driver's Date.
  ...COMPARED_KEYS.map(columnOf).map((c) =>
    c.kind === "date" ? `c.${c.column}::text as ${c.column}` : `c.${c.column}`,
  ),
].join(", ");

function existingData(row: ExistingRow): Partial<ContactData> {
  return Object.fromEntries(COMPARED_KEYS.map((k) => [k, row[columnOf(k).column]]));
}

/** JSON with object keys sorted: jsonb does not keep the order a value was written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * A field as compared to decide whether a record changes a contact: a phone is the same number when
 * its E.164 form is (an export writes `+12125550100` for a number typed `+1 212 555 0100`, and
 * importing the export back must not count as a change), and its display `mask` is left out (a CSV
 * carries none, so a record whose phones are otherwise the same keeps the stored masks); everything
 * else as stored.
 */
function comparable(key: ContactKey, value: unknown): string {
  if (key !== "phones" || !Array.isArray(value)) return canonical(value ?? null);
  const phones = value as ContactData["phones"];
  return canonical(
    phones.map(({ number, e164, valid: _valid, mask: _mask, ...rest }) => ({
      ...rest,
      number: e164 ?? number,
    })),
  );
}

/** Whether a record's value of a field equals the stored one (strings compared as they are, lists as JSON). */
function sameValue(key: ContactKey, stored: unknown, incoming: unknown): boolean {
  if (stored === undefined) stored = null;
  if (incoming === undefined) incoming = null;
  if (typeof stored !== "object" || typeof incoming !== "object" || stored === null || incoming === null)
    return stored === incoming;
  return comparable(key, stored) === comparable(key, incoming);
}

function pick(data: Partial<ContactData>, keys: readonly ContactKey[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k !== "taxId").map((k) => [k, data[k] ?? null]));
}

const rounded = (values: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v)]));

/** Messages of the parse thread, awaited one at a time. */
class Inbox {
  private readonly items: ParseThreadMessage[] = [];
  private waiter: { resolve: (m: ParseThreadMessage) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  push(message: ParseThreadMessage): void {
    if (this.waiter) {
      this.waiter.resolve(message);
      this.waiter = null;
    } else this.items.push(message);
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.waiter?.reject(error);
    this.waiter = null;
  }

  next(): Promise<ParseThreadMessage> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

/**
 * The parse thread's heap: it holds two batches ahead and the seen keys (outside the heap), so a
 * bounded heap makes V8 collect early instead of growing towards its default limit (gigabytes on a
 * large machine), which kept the worker's resident memory over 400 MB.
 */
const PARSE_THREAD_HEAP = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 16 };

function startParseThread(input: ParseThreadInput): { worker: Worker; inbox: Inbox } {
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(`./parse-thread.${fromSource ? "ts" : "js"}`, import.meta.url);
  // Run from TypeScript (tests, `tsx`), the thread registers tsx itself and reads the workspace
  // packages' sources; compiled, it is plain JavaScript.
  const worker = fromSource
    ? new Worker(
        `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
        {
          eval: true,
          workerData: input,
          execArgv: ["--conditions=source"],
          resourceLimits: PARSE_THREAD_HEAP,
        },
      )
    : new Worker(url, { workerData: input, resourceLimits: PARSE_THREAD_HEAP });
  const inbox = new Inbox();
  worker.on("message", (m: ParseThreadMessage) => inbox.push(m));
  worker.on("error", (e) => inbox.fail(e));
  worker.on("exit", (code) => inbox.fail(new Error(`the parse thread exited (${code})`)));
  return { worker, inbox };
}

/**
 * Runs one import to its end (or until another worker overtakes it): claims it, streams the file
 * through the parse thread, and commits each batch in one transaction that also advances the
 * checkpoint with a compare-and-set, so a chunk is committed once whoever runs it.
 */
export async function runImport(options: ImportRunOptions): Promise<ImportOutcome> {
  const { tenantId, importId, log } = options;
  const client = new pg.Client({ connectionString: options.appUrl, application_name: "contacts-import" });
  await client.connect();
  const threads: Worker[] = [];
  try {
    const tx = async <T>(fn: () => Promise<T>): Promise<T> => {
      await client.query("begin");
      try {
        await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
        const result = await fn();
        await client.query("commit");
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => undefined);
        throw error;
      }
    };
    const finish = (
      state: "completed" | "failed" | "cancelled",
      extra: { failure?: string; total?: number } = {},
    ) =>
      tx(() =>
        client.query(
          `update imports set state = $3, failure = $4, total_records = coalesce($5, total_records),
                  finished_at = now(), updated_at = now()
            where tenant_id = $1 and id = $2 and state = 'running'`,
          [tenantId, importId, state, extra.failure ?? null, extra.total ?? null],
        ),
      );

    const job = await tx(async () => {
      const found = await client.query<ImportRow>(
        "select * from imports where tenant_id = $1 and id = $2 for update",
        [tenantId, importId],
      );
      const row = found.rows[0];
      if (!row || (row.state !== "queued" && row.state !== "running")) return null;
      if (row.cancel_requested) {
        await client.query(
          `update imports set state = 'cancelled', finished_at = now(), updated_at = now()
            where tenant_id = $1 and id = $2`,
          [tenantId, importId],
        );
        return null;
      }
      await client.query(
        `update imports set state = 'running', started_at = coalesce(started_at, now()), updated_at = now()
          where tenant_id = $1 and id = $2`,
        [tenantId, importId],
      );
      return row;
    });
    if (!job) return "skipped";
    log.debug({ importId }, "import claimed");

    await client.query(
      `create temp table if not exists import_staging (${STAGING_COLUMNS.map(([n, t]) => `${n} ${t}`).join(", ")})
       on commit delete rows`,
    );

    let checkpoint = Number(job.checkpoint);
    // Batch i comes from thread i % count: each validates every count-th batch.
    const count = Math.max(1, options.parseThreads);
    const parsers = Array.from({ length: count }, (_, index) =>
      startParseThread({
        appUrl: options.appUrl,
        tenantId,
        importId,
        checkpoint,
        batchRecords: options.batchRecords,
        batchChars: options.batchChars,
        limits: job.limits,
        mapping: job.mapping,
        defaultAccountId: job.account_id,
        matchOn: job.match_on,
        mode: job.mode,
        shard: { index, count },
      }),
    );
    threads.push(...parsers.map((p) => p.worker));
    let turn = 0;
    let headerSeen = false;
    const chunk = new ChunkWriter(client, options, job);
    // Where the time goes, logged at the end: waiting for the parse thread vs. writing chunks.
    const timings = { waitingMs: 0, writingMs: 0, chunks: 0 };
    for (;;) {
      const waitStarted = performance.now();
      const parser = parsers[turn];
      if (!parser) throw new Error("no parse thread");
      const message = await parser.inbox.next();
      timings.waitingMs += performance.now() - waitStarted;
      log.debug({ importId, type: message.type }, "parse thread message");
      if (message.type === "header") {
        // Every thread sends the same header first.
        if (!headerSeen) {
          chunk.setHeader(message.headers, message.columns);
          await tx(() =>
            client.query("update imports set ignored_columns = $3::jsonb where tenant_id = $1 and id = $2", [
              tenantId,
              importId,
              JSON.stringify(message.ignored),
            ]),
          );
        }
        headerSeen = true;
        continue;
      }
      if (message.type === "failed") {
        await finish("failed", { failure: message.message });
        log.info({ importId, failure: message.message }, "import failed");
        return "failed";
      }
      if (message.type === "end") {
        await finish("completed", { total: message.total });
        log.info({ importId, total: message.total, ...rounded(timings) }, "import completed");
        return "completed";
      }
      const writeStarted = performance.now();
      const outcome = await tx(() => chunk.write(message.records, checkpoint, message.last)).catch(
        (error: unknown) => {
          if (!(error instanceof ConcurrentChange)) throw error;
          log.debug(
            { importId, checkpoint },
            "a matched contact changed meanwhile: writing the chunk with locks",
          );
          return tx(() => chunk.write(message.records, checkpoint, message.last, true));
        },
      );
      if (outcome === "lost") {
        log.info({ importId, checkpoint }, "another worker committed this chunk first: stopping");
        return "lost";
      }
      if (outcome === "cancel") {
        await finish("cancelled");
        log.info({ importId, checkpoint }, "import cancelled");
        return "cancelled";
      }
      timings.writingMs += performance.now() - writeStarted;
      timings.chunks++;
      checkpoint = message.last;
      const more: ParseThreadCommand = { type: "more" };
      parser.worker.postMessage(more);
      turn = (turn + 1) % count;
    }
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
    await client.end().catch(() => undefined);
  }
}

interface Staged {
  op: "insert" | "update";
  id: string;
  number: number | null;
  record: GoodRecord;
  data: ContactData;
  taxId: { ciphertext: string; keyId: string; index: string } | null;
  matchKeys: string[];
  before: Record<string, unknown> | null;
  version: number;
}

/** Writes one batch: matching, COPY into staging, set-based insert and update, events, errors, counters. */
class ChunkWriter {
  private validator: RecordValidator | null = null;
  private present: ContactKey[] = [];
  /** The chunk's account telephones (see `readAccountPhones`). */
  private accountPhones = new Map<string, string>();
  /** The chunk's account addresses (see `readAccountAddresses`). */
  private accountAddresses = new Map<string, AccountPostalAddress>();

  constructor(
    private readonly client: pg.Client,
    private readonly options: ImportRunOptions,
    private readonly job: ImportRow,
  ) {}

  setHeader(headers: string[], columns: (CsvField | null)[]): void {
    const mapping = resolveCsvMapping(headers, this.job.mapping);
    mapping.columns = columns;
    this.validator = new RecordValidator(headers, mapping, this.job.limits, this.job.account_id);
    this.present = presentKeys(mapping, this.job.account_id);
  }

  private header(field: CsvField): string {
    return this.validator?.header(field) ?? field;
  }

  private reported(field: CsvField, value: string | null): string | null {
    return this.validator?.reported(field, value) ?? null;
  }

  async write(
    records: RecordResult[],
    previous: number,
    last: number,
    locking = false,
  ): Promise<"done" | "lost" | "cancel"> {
    const { client, job } = this;
    const { tenantId, importId } = this.options;
    // The compare-and-set comes first: it locks the import's row, so a second worker on the same
    // chunk waits here, then finds the checkpoint moved and rolls back.
    const cas = await client.query<{ cancel_requested: boolean; inserted: string }>(
      `update imports set checkpoint = $4, updated_at = now()
        where tenant_id = $1 and id = $2 and checkpoint = $3 and state = 'running'
        returning cancel_requested, inserted`,
      [tenantId, importId, previous, last],
    );
    const claimed = cas.rows[0];
    if (!claimed) return "lost";
    if (claimed.cancel_requested) {
      await client.query("rollback");
      await client.query("begin");
      return "cancel";
    }

    const errors = new Map<number, RecordError[]>();
    const reject = (recordNumber: number, error: RecordError) =>
      errors.set(recordNumber, [...(errors.get(recordNumber) ?? []), error]);
    const parsed: GoodRecord[] = [];
    // Records identical to the source the contact was last written from count as unchanged.
    let unchanged = 0;
    for (const r of records) {
      if (r.ok === "same") unchanged++;
      else if (r.ok) parsed.push(r);
      else r.errors.forEach((e) => reject(r.recordNumber, e));
    }
    const good = await this.withLiveReferences(parsed, reject);

    // Matched rows are read without locks (an unchanged record writes nothing, and locking a row
    // writes to it); an update applies only if the contact still has the version read. When one
    // does not, the chunk is written again with the rows locked (`locking`).
    const lock = locking && !job.dry_run ? "for update" : "";
    const externalIds = good.flatMap((r) => (r.data.externalId ? [r.data.externalId] : []));
    const byExternalId = new Map<string, ExistingRow>();
    if (externalIds.length) {
      const found = await client.query<ExistingRow>(
        // One index probe per id whatever the statistics say (a tenant that just grew looks small
        // to the planner, which then hashed every contact of the tenant for each chunk).
        `select c.* from unnest($2::text[]) as k(external_id)
           cross join lateral (
             select ${EXISTING_COLUMNS} from contacts c
              where c.tenant_id = $1 and c.external_id = k.external_id limit 1 ${lock}
           ) c
          order by c.number`,
        [tenantId, externalIds],
      );
      for (const row of found.rows) if (row.external_id) byExternalId.set(row.external_id, row);
    }
    const primaryEmail = (d: ContactData) => {
      const e = d.emails.find((x) => x.primary) ?? d.emails[0];
      return e ? normalizeEmail(e.address) : null;
    };
    const byEmail = new Map<string, ExistingRow>();
    if (job.mode === "upsert" && job.match_on === "email") {
      const emails = [...new Set(good.flatMap((r) => primaryEmail(r.data) ?? []))];
      if (emails.length) {
        const found = await client.query<ExistingRow>(
          `select k.key as match_key, c.* from unnest($2::text[]) as k(key)
             cross join lateral (
               select ${EXISTING_COLUMNS} from contacts c
                where c.tenant_id = $1 and c.email_keys @> jsonb_build_array(k.key)
                order by c.number limit 1 ${locking && !job.dry_run ? "for update" : ""}
             ) c`,
          [tenantId, emails],
        );
        for (const row of found.rows) if (row.match_key) byEmail.set(row.match_key, row);
      }
    }

    // The tenant's creation criteria (its contact limit comes with the numbers, below).
    const [tenant] = (
      await client.query<{ settings: TenantSettings }>("select settings from tenants where id = $1", [
        tenantId,
      ])
    ).rows;
    const requireAddress = tenant ? requiresPrimaryAddress(tenant.settings) : false;

    const matched = [...byExternalId.values(), ...byEmail.values()];
    this.accountAddresses = await this.readAccountAddresses(good, matched);
    this.accountPhones = await this.readAccountPhones(good, matched);

    const staged: Staged[] = [];
    const targeted = new Set<string>();
    const inserts: GoodRecord[] = [];
    for (const r of good) {
      const ext = r.data.externalId;
      const owner = ext ? byExternalId.get(ext) : undefined;
      let target: ExistingRow | undefined;
      if (job.mode === "insert") {
        if (owner) {
          reject(r.recordNumber, this.duplicateOf("externalId", ext));
          continue;
        }
      } else if (job.match_on === "externalId") {
        target = owner;
      } else {
        const email = primaryEmail(r.data);
        target = email ? byEmail.get(email) : undefined;
        if (owner && owner.id !== target?.id) {
          reject(r.recordNumber, this.duplicateOf("externalId", ext));
          continue;
        }
        if (target && targeted.has(target.id)) {
          reject(r.recordNumber, this.duplicateOf("email", r.data.emails[0]?.address ?? null));
          continue;
        }
      }
      if (!target) {
        if (r.maskedTaxId !== undefined) {
          reject(r.recordNumber, this.maskedTaxIdError(r.maskedTaxId));
          continue;
        }
        // The tenant's creation criteria hold for new contacts, as on the API's create.
        const missing = requireAddress ? primaryAddressErrors(r.data) : [];
        if (missing.length) {
          missing.forEach((e) => reject(r.recordNumber, this.fieldError(e)));
          continue;
        }
        inserts.push(this.followed(r));
        continue;
      }
      if (target.locked) {
        // As through the API: a locked contact does not change (README, "Locked contacts").
        const key = job.match_on === "email" ? (r.data.emails[0]?.address ?? null) : (ext ?? null);
        reject(r.recordNumber, {
          column: this.header(job.match_on),
          reason: ErrorReason.locked,
          value: this.reported(job.match_on, key),
        });
        continue;
      }
      let record = r;
      if (r.maskedTaxId !== undefined) {
        // As a replace through the API: the masked value read back means "unchanged".
        const stored = this.storedTaxId(target);
        if (stored === null || maskLast4(stored) !== r.maskedTaxId) {
          reject(r.recordNumber, this.maskedTaxIdError(r.maskedTaxId));
          continue;
        }
        record = { ...r, data: { ...r.data, taxId: stored } };
      }
      targeted.add(target.id);
      const update = this.merge(target, record);
      if (update) staged.push(update);
      else unchanged++;
    }

    // The tenant's contact limit and numbers for the new contacts, as in the API
    // (`admitNewContacts`); a dry run counts what it would have inserted so far.
    let allowed = inserts.length;
    let numbers: number[] = [];
    if (job.dry_run) {
      const { count, limit } = await contactHeadroom(pgRunner(client), tenantId);
      if (limit !== null) allowed = Math.max(0, Math.min(allowed, limit - count - Number(claimed.inserted)));
    } else if (inserts.length) {
      numbers = (await admitNewContacts(pgRunner(client), tenantId, inserts.length)).numbers;
      allowed = numbers.length;
    }
    for (const r of inserts.slice(allowed))
      reject(r.recordNumber, { column: null, reason: ErrorReason.tenantLimit, value: null });
    const accepted = inserts.slice(0, allowed);
    accepted.forEach((r, i) => {
      const id = randomUUID();
      staged.push({
        op: "insert",
        id,
        number: numbers[i] ?? 0,
        record: r,
        data: r.data,
        taxId: this.encrypt(id, r.data.taxId),
        matchKeys: r.matchKeys,
        before: null,
        version: 1,
      });
    });

    let inserted = 0;
    let updated = 0;
    if (job.dry_run) {
      inserted = accepted.length;
      updated = staged.length - accepted.length;
    } else if (staged.length) {
      const result = await this.store(staged);
      inserted = result.inserted.size;
      updated = result.updated;
      for (const s of staged) {
        if (s.op === "insert" && !result.inserted.has(s.id))
          reject(s.record.recordNumber, this.duplicateOf("externalId", s.data.externalId));
      }
      await this.recordEvents(
        staged.filter((s) => s.op === "update"),
        result.at,
      );
    }

    const errorRows = [...errors].flatMap(([recordNumber, list]) =>
      list.map((e, i) => ({
        record_number: recordNumber,
        seq: i + 1,
        column_name: e.column,
        reason: e.reason,
        value: e.value,
      })),
    );
    if (errorRows.length) {
      await client.query(
        `insert into import_errors (tenant_id, import_id, record_number, seq, column_name, reason, value)
         select $1, $2, x.record_number, x.seq, x.column_name, x.reason, x.value
           from jsonb_to_recordset($3::jsonb) as x(record_number bigint, seq smallint, column_name text, reason text, value text)`,
        [tenantId, importId, JSON.stringify(errorRows)],
      );
    }
    await client.query(
      `update imports set processed = processed + $3, inserted = inserted + $4, updated = updated + $5,
              unchanged = unchanged + $6, failed = failed + $7
        where tenant_id = $1 and id = $2`,
      [tenantId, importId, records.length, inserted, updated, unchanged, errors.size],
    );
    return "done";
  }

  /**
   * The records whose roles and account still exist, read in this chunk's transaction with share
   * locks. The parse thread checked them on its own connection, before this transaction: a
   * `roles.delete` committed since would otherwise leave contacts holding a deleted role (a delete
   * counts the role's contacts after locking the role, so it now waits for this commit and sees
   * them), and a deleted account would fail the whole chunk on the foreign key.
   */
  private async withLiveReferences(
    records: GoodRecord[],
    reject: (recordNumber: number, error: RecordError) => void,
  ): Promise<GoodRecord[]> {
    const { client, job } = this;
    const { tenantId } = this.options;
    const roles = [...new Set(records.flatMap((r) => r.data.roles))];
    const accounts = [...new Set(records.flatMap((r) => (r.data.accountId ? [r.data.accountId] : [])))];
    if (!roles.length && !accounts.length) return records;
    const lock = (mode: string) => (job.dry_run ? "" : mode);
    const liveRoles = new Set(
      roles.length
        ? (
            await client.query<{ code: string }>(
              `select code from roles where tenant_id = $1 and code = any($2::text[]) order by code ${lock("for share")}`,
              [tenantId, roles],
            )
          ).rows.map((r) => r.code)
        : [],
    );
    const liveAccounts = new Set(
      accounts.length
        ? (
            await client.query<{ id: string }>(
              `select id from accounts where tenant_id = $1 and id = any($2::uuid[]) order by id ${lock("for key share")}`,
              [tenantId, accounts],
            )
          ).rows.map((r) => r.id)
        : [],
    );
    return records.filter((r) => {
      const errors: RecordError[] = [];
      if (r.data.roles.some((code) => !liveRoles.has(code)))
        errors.push({
          column: this.header("roles"),
          reason: ErrorReason.unknownReference,
          value: this.reported("roles", r.data.roles.join(";")),
        });
      if (r.data.accountId && !liveAccounts.has(r.data.accountId))
        errors.push({
          column: this.header("accountId"),
          reason: ErrorReason.unknownReference,
          value: this.reported("accountId", r.data.accountId),
        });
      errors.forEach((e) => reject(r.recordNumber, e));
      return errors.length === 0;
    });
  }

  /** A domain field error (`addresses.0.city`) as an error of the column it comes from. */
  private fieldError(error: FieldError): RecordError {
    const path = (error.field ?? "").split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const field = csvFieldOfPath(path);
    return { column: field ? this.header(field) : null, reason: error.reason, value: null };
  }

  private duplicateOf(field: CsvField, value: string | null | undefined): RecordError {
    return {
      column: this.header(field),
      reason: ErrorReason.duplicate,
      value: this.reported(field, value ?? null),
    };
  }

  private encrypt(contactId: string, taxId: string | null): Staged["taxId"] {
    if (!taxId) return null;
    const { vault, tenantId } = this.options;
    const { ciphertext, keyId } = vault.encrypt(taxId, { tenantId, contactId });
    return { ciphertext, keyId, index: vault.blindIndex(taxId, tenantId) };
  }

  /** A matched contact's tax ID in clear (decrypted, or a legacy plaintext one), or null. */
  private storedTaxId(target: ExistingRow): string | null {
    const { vault, tenantId } = this.options;
    if (target.tax_id_ciphertext)
      return vault.decrypt(target.tax_id_ciphertext, { tenantId, contactId: target.id });
    return target.tax_id_legacy;
  }

  /** A masked tax ID that masks no stored one (or names no contact) cannot be stored. */
  private maskedTaxIdError(masked: string): RecordError {
    return {
      column: this.header("taxId"),
      reason: ErrorReason.invalid,
      value: this.reported("taxId", masked),
    };
  }

  /** The update of a matched contact, or null when the record changes nothing. */
  /**
   * The telephones the chunk's phone-linked contacts follow, by account (`ACCOUNT_PHONES_SQL`, as the
   * API's writer reads them); read only when a record or matched contact is linked.
   */
  private async readAccountPhones(
    records: GoodRecord[],
    matched: ExistingRow[],
  ): Promise<Map<string, string>> {
    const linked =
      records.some((r) => r.data.linkWorkPhoneToAccount) || matched.some((m) => m.link_work_phone_to_account);
    const accounts = new Set([
      ...records.flatMap((r) => (r.data.accountId ? [r.data.accountId] : [])),
      ...matched.flatMap((m) => (m.account_id ? [m.account_id] : [])),
    ]);
    if (!linked || !accounts.size) return new Map();
    const found = await this.client.query<{ account_id: string; telephone: string }>(ACCOUNT_PHONES_PG_SQL, [
      this.options.tenantId,
      arrayLiteral([...accounts]),
    ]);
    return new Map(found.rows.map((r) => [r.account_id, r.telephone]));
  }

  /**
   * The addresses the chunk's address-linked contacts follow, by account (`ACCOUNT_ADDRESSES_SQL`, as
   * the API's writer reads them); read only when a record or matched contact is linked.
   */
  private async readAccountAddresses(
    records: GoodRecord[],
    matched: ExistingRow[],
  ): Promise<Map<string, AccountPostalAddress>> {
    const linked =
      records.some((r) => r.data.linkWorkAddressToAccount) ||
      matched.some((m) => m.link_work_address_to_account);
    const accounts = new Set([
      ...records.flatMap((r) => (r.data.accountId ? [r.data.accountId] : [])),
      ...matched.flatMap((m) => (m.account_id ? [m.account_id] : [])),
    ]);
    if (!linked || !accounts.size) return new Map();
    const found = await this.client.query<{ account_id: string; address: AccountPostalAddress }>(
      ACCOUNT_ADDRESSES_PG_SQL,
      [this.options.tenantId, arrayLiteral([...accounts])],
    );
    return new Map(found.rows.map((r) => [r.account_id, r.address]));
  }

  /**
   * A new contact linked to its account's address or phone, with the account's address as its work
   * address and the account's telephone as its work phone.
   */
  private followed(r: GoodRecord): GoodRecord {
    const data = this.followAccount(r.data);
    return data === r.data ? r : { ...r, data, matchKeys: matchKeyList(duplicateKeys(data)) };
  }

  /** The rules `followAccountAddress` then `followAccountPhone`, as the API's writer applies them. */
  private followAccount(data: ContactData): ContactData {
    const account = data.accountId;
    const addressed = followAccountAddress(
      data,
      account ? (this.accountAddresses.get(account) ?? null) : null,
    );
    return followAccountPhone(addressed, this.accountPhoneOf(addressed));
  }

  private accountPhoneOf(data: Pick<ContactData, "accountId">): string | null {
    return data.accountId ? (this.accountPhones.get(data.accountId) ?? null) : null;
  }

  private merge(target: ExistingRow, r: GoodRecord): Staged | null {
    const before = existingData(target);
    const fields = this.present.filter((k) => k !== "taxId");
    const changed = fields.filter((k) => !sameValue(k, before[k], r.data[k]));
    // A contact linked to its account's address or phone (stored or as the record sets it) keeps the
    // account's address as its work address and its telephone as its work phone, as through the API.
    const next = { ...before, ...pick(r.data, changed) } as ContactData;
    const followed = this.followAccount(next);
    if (followed !== next) {
      for (const key of ["addresses", "phones"] as const) {
        if (!changed.includes(key) && !sameValue(key, before[key], followed[key])) changed.push(key);
      }
      r = { ...r, data: { ...r.data, addresses: followed.addresses, phones: followed.phones } };
    }
    const { vault, tenantId } = this.options;
    let taxChanged = false;
    let taxId: Staged["taxId"] = null;
    const beforeDoc = pick(before, changed);
    if (this.present.includes("taxId")) {
      const storedIndex =
        target.tax_id_index ??
        (target.tax_id_legacy ? vault.blindIndex(target.tax_id_legacy, tenantId) : null);
      const next = r.data.taxId ? vault.blindIndex(r.data.taxId, tenantId) : null;
      taxChanged = storedIndex !== next;
      // The update writes the tax columns: an unchanged value keeps its ciphertext (a legacy
      // plaintext one is encrypted now).
      taxId =
        !taxChanged && target.tax_id_ciphertext && target.tax_id_key_id && target.tax_id_index
          ? { ciphertext: target.tax_id_ciphertext, keyId: target.tax_id_key_id, index: target.tax_id_index }
          : this.encrypt(target.id, r.data.taxId);
      if (taxChanged) {
        const old = target.tax_id_ciphertext
          ? vault.decrypt(target.tax_id_ciphertext, { tenantId, contactId: target.id })
          : target.tax_id_legacy;
        beforeDoc.taxId = old ? maskLast4(old) : null;
      }
    }
    if (!changed.length && !taxChanged) return null;
    // Fields equal as compared keep their stored form (a phone typed differently stays as typed),
    // so the row changes exactly as the event says.
    const merged = { ...before, ...pick(r.data, changed) } as ContactData;
    return {
      op: "update",
      id: target.id,
      number: Number(target.number),
      record: r,
      data: { ...merged, taxId: r.data.taxId },
      taxId,
      matchKeys: matchKeyList(duplicateKeys(merged)),
      before: beforeDoc,
      version: target.version + 1,
    };
  }

  /** COPY into staging, then one INSERT ... SELECT and one UPDATE ... FROM. */
  private async store(staged: Staged[]): Promise<{ inserted: Set<string>; updated: number; at: Date }> {
    const { client, job } = this;
    const { tenantId, importId } = this.options;

    const lines = staged.map((s) => {
      const d = s.data;
      const values: Record<string, unknown> = {
        ...d,
        taxIdCiphertext: s.taxId?.ciphertext ?? null,
        taxIdKeyId: s.taxId?.keyId ?? null,
        taxIdIndex: s.taxId?.index ?? null,
        matchKeys: s.matchKeys,
      };
      const row: Record<string, string | number | null> = {
        op: s.op,
        id: s.id,
        number: s.number,
        record_number: s.record.recordNumber,
        ...Object.fromEntries(STAGED.map((c) => [c.column, toCopyText(c.kind, values[c.property])])),
        tax_id_masked: s.data.taxId ? maskLast4(s.data.taxId) : null,
        expected_version: s.op === "update" ? s.version - 1 : null,
        import_source_hash: s.record.sourceHash ?? null,
      };
      return copyLine(STAGING_NAMES.map((n) => row[n]));
    });
    await pipeline(
      Readable.from(lines),
      client.query(copyFrom(`copy import_staging (${STAGING_NAMES.join(", ")}) from stdin`)),
    );
    const now = new Date();
    // New contacts and their created events in one statement. The place keys are computed here
    // with the expression of the contacts_place_keys trigger, which then skips these rows.
    const inserted = await client.query<{ id: string }>(
      `with c as (
         insert into contacts (tenant_id, ${INSERT_COLUMNS.join(", ")}, city_keys, state_keys, country_keys,
                version, created_at, created_by, updated_at, updated_by,
                import_id, import_record_number, import_source_file, loaded_at, last_bulk_import)
         select $1, ${INSERT_COLUMNS.map((n) => `s.${n}`).join(", ")}, k.city_keys, k.state_keys, k.country_keys,
                1, $2, $3, $2, $3, $4, s.record_number, $5, $2, ${LAST_BULK_IMPORT}
           from import_staging s cross join lateral (
             select coalesce(array_agg(distinct lower(a->>'city')) filter (where a->>'city' is not null), '{}') as city_keys,
                    coalesce(array_agg(distinct lower(a->>'state')) filter (where a->>'state' is not null), '{}') as state_keys,
                    coalesce(array_agg(distinct lower(a->>'country')) filter (where a->>'country' is not null), '{}') as country_keys
               from jsonb_array_elements(s.addresses) a
           ) k
          where s.op = 'insert' order by s.record_number
         on conflict (tenant_id, external_id) where external_id is not null do nothing
         returning *
       )
       insert into contact_events (tenant_id, contact_id, type, version, patch, actor)
       select $1, c.id, 'created', 1, ${CREATED_PATCH}, $3
         from c join import_staging s on s.id = c.id
        order by c.import_record_number
       returning contact_id as id`,
      [tenantId, now, job.created_by, importId, job.file_name],
    );
    // Addresses and phones follow a linked account even when the file has no column for them: written
    // for every row then (unchanged ones get their stored value back).
    const follows = (key: "addresses" | "phones") =>
      !this.present.includes(key) &&
      staged.some((s) => s.op === "update" && s.before !== null && key in s.before);
    const keys = [
      ...this.present,
      ...(follows("addresses") ? ["addresses" as const] : []),
      ...(follows("phones") ? ["phones" as const] : []),
    ];
    const sets = keys.flatMap((k) => {
      if (k === "taxId")
        return [
          "tax_id_ciphertext = s.tax_id_ciphertext",
          "tax_id_key_id = s.tax_id_key_id",
          "tax_id_index = s.tax_id_index",
          "tax_id = null",
        ];
      const { column } = columnOf(k);
      return [`${column} = s.${column}`];
    });
    // Each staged row finds its contact through the primary key: with statistics from before the
    // tenant grew, the planner would rather hash all of the tenant's contacts (the rest of this
    // transaction joins nothing).
    await client.query("set local enable_hashjoin = off");
    await client.query("set local enable_mergejoin = off");
    const updated = await client.query(
      `update contacts c set ${[...sets, "match_keys = s.match_keys", "import_source_hash = s.import_source_hash"].join(", ")},
              version = c.version + 1, updated_at = $2, updated_by = $3, last_bulk_import = ${LAST_BULK_IMPORT}
         from import_staging s
        where s.op = 'update' and c.tenant_id = $1 and c.id = s.id and c.version = s.expected_version
          and not c.locked`,
      [tenantId, now, job.created_by, importId, job.file_name],
    );
    if ((updated.rowCount ?? 0) !== staged.filter((s) => s.op === "update").length)
      throw new ConcurrentChange();
    return { inserted: new Set(inserted.rows.map((r) => r.id)), updated: updated.rowCount ?? 0, at: now };
  }

  /**
   * One INSERT for the updated contacts' events: the diff of the fields the import changed (tax ID
   * masked), then the server fields every update changes, as in the API's updated events.
   */
  private async recordEvents(staged: Staged[], at: Date): Promise<void> {
    if (!staged.length) return;
    const { tenantId, importId } = this.options;
    const updatedAt = at.toISOString();
    const events = staged.map((s) => {
      const before = s.before ?? {};
      const after = pick(s.data, Object.keys(before) as ContactKey[]);
      if ("taxId" in before) after.taxId = s.data.taxId ? maskLast4(s.data.taxId) : null;
      const provenance = {
        importId,
        recordNumber: s.record.recordNumber,
        sourceFile: this.job.file_name,
        loadedAt: updatedAt,
      };
      return {
        contact_id: s.id,
        type: "updated",
        version: s.version,
        patch: [
          ...diffDocuments(before as JsonValue, after as JsonValue),
          { op: "replace", path: "/lastBulkImport", value: provenance },
          { op: "replace", path: "/version", value: s.version },
          { op: "replace", path: "/updatedAt", value: updatedAt },
          { op: "replace", path: "/updatedBy", value: this.job.created_by },
        ],
      };
    });
    const json = JSON.stringify(events);
    await this.client.query(
      `insert into contact_events (tenant_id, contact_id, type, version, patch, actor)
       select $1, x.contact_id, x.type, x.version, x.patch, $2
         from jsonb_to_recordset($3::jsonb) as x(contact_id uuid, type text, version integer, patch jsonb)`,
      [tenantId, this.job.created_by, json],
    );
  }
}
