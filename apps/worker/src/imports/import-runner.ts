import { Worker } from "node:worker_threads";

import { contactFromRow } from "@contacts/contacts/contact-row";
import type { ContactRow } from "@contacts/contacts/contact-row";
import { contactData } from "@contacts/contacts/document";
import { contactHeadroom, pgRunner } from "@contacts/contacts/numbers";
import { applyContactChanges } from "@contacts/contacts/writer";
import type { ContactChange } from "@contacts/contacts/writer";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { ContactData } from "@contacts/domain/contact";
import type { CsvField } from "@contacts/domain/csv-layout";
import { csvFieldOfPath, resolveCsvMapping } from "@contacts/domain/csv-layout";
import { normalizeEmail } from "@contacts/domain/email";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";
import type { ImportLimits } from "@contacts/domain/import-job";
import { requiresPrimaryAddress } from "@contacts/domain/tenant";
import type { TenantSettings } from "@contacts/domain/tenant";
import { maskLast4 } from "@contacts/domain/masking";
import pg from "pg";
import type { Logger } from "pino";

import { presentKeys, RecordValidator } from "./import-record.js";
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

/**
 * A contact matched by a chunk changed between the chunk's read and its update: the chunk is rolled
 * back and written again with the matched rows locked.
 */
class ConcurrentChange extends Error {}

/** A stored contact an import matched. */
type Matched = ContactEntity;

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

/** A change the chunk passes to the writer, with the record it comes from. */
interface Planned {
  record: GoodRecord;
  change: ContactChange;
}

/**
 * Writes one batch: the compare-and-set on the checkpoint, matching by external id or email, what
 * counts as unchanged, then the contacts writer (`applyContactChanges`, the API's too) for every
 * rule and the writes, then the record errors and counters.
 */
class ChunkWriter {
  private validator: RecordValidator | null = null;
  private present: ContactKey[] = [];

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
    const good: GoodRecord[] = [];
    // Records identical to the source the contact was last written from count as unchanged.
    let unchanged = 0;
    for (const r of records) {
      if (r.ok === "same") unchanged++;
      else if (r.ok) good.push(r);
      else r.errors.forEach((e) => reject(r.recordNumber, e));
    }

    // Matched rows are read without locks (an unchanged record writes nothing, and locking a row
    // writes to it); the writer updates a contact only if it still has the version read. When one
    // does not, the chunk is written again with the rows locked (`locking`).
    const lock = locking && !job.dry_run ? "for update" : "";
    const externalIds = good.flatMap((r) => (r.data.externalId ? [r.data.externalId] : []));
    const byExternalId = new Map<string, Matched>();
    if (externalIds.length) {
      const found = await client.query<ContactRow>(
        // One index probe per id whatever the statistics say (a tenant that just grew looks small
        // to the planner, which then hashed every contact of the tenant for each chunk).
        `select c.* from unnest($2::text[]) as k(external_id)
           cross join lateral (
             select c.* from contacts c
              where c.tenant_id = $1 and c.external_id = k.external_id limit 1 ${lock}
           ) c
          order by c.number`,
        [tenantId, externalIds],
      );
      for (const row of found.rows.map(contactFromRow))
        if (row.externalId) byExternalId.set(row.externalId, row);
    }
    const primaryEmail = (d: ContactData) => {
      const e = d.emails.find((x) => x.primary) ?? d.emails[0];
      return e ? normalizeEmail(e.address) : null;
    };
    const byEmail = new Map<string, Matched>();
    if (job.mode === "upsert" && job.match_on === "email") {
      const emails = [...new Set(good.flatMap((r) => primaryEmail(r.data) ?? []))];
      if (emails.length) {
        const found = await client.query<ContactRow & { match_key: string }>(
          `select k.key as match_key, c.* from unnest($2::text[]) as k(key)
             cross join lateral (
               select c.* from contacts c
                where c.tenant_id = $1 and c.email_keys @> jsonb_build_array(k.key)
                order by c.number limit 1 ${lock}
             ) c`,
          [tenantId, emails],
        );
        for (const row of found.rows) byEmail.set(row.match_key, contactFromRow(row));
      }
    }

    const planned: Planned[] = [];
    const targeted = new Set<string>();
    for (const r of good) {
      const ext = r.data.externalId;
      const owner = ext ? byExternalId.get(ext) : undefined;
      let target: Matched | undefined;
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
      const bulk = {
        importId,
        recordNumber: r.recordNumber,
        sourceFile: job.file_name,
        sourceHash: r.sourceHash ?? null,
      };
      const data = r.maskedTaxId === undefined ? r.data : { ...r.data, taxId: r.maskedTaxId };
      if (!target) {
        planned.push({ record: r, change: { op: "create", data, matchKeys: r.matchKeys, bulk } });
        continue;
      }
      if (target.locked) {
        // Refused whatever the record holds, as before it is compared (the writer refuses a change
        // to a locked contact too; an unchanged record must not pass as "unchanged").
        const [error] = this.recordErrors(r, ContactsError.conflict(ErrorReason.locked, "id"));
        if (error) reject(r.recordNumber, error);
        continue;
      }
      targeted.add(target.id);
      const next = this.merge(target, { ...r, data });
      if (next)
        planned.push({
          record: r,
          change: { op: "update", id: target.id, current: target, data: next, bulk },
        });
      else unchanged++;
    }

    const results = await applyContactChanges(
      pgRunner(client),
      {
        tenantId,
        subject: job.created_by,
        mayUnlock: false,
        requirePrimaryAddress: await this.requiresPrimaryAddress(),
      },
      planned.map((p) => p.change),
      { vault: this.options.vault, returnRows: false, dryRun: job.dry_run },
    );

    // A dry run takes no numbers: it counts what the tenant's contact limit leaves, less what it
    // would have inserted so far.
    let room = Infinity;
    if (job.dry_run) {
      const { count, limit } = await contactHeadroom(pgRunner(client), tenantId);
      if (limit !== null) room = Math.max(0, limit - count - Number(claimed.inserted));
    }
    let inserted = 0;
    let updated = 0;
    planned.forEach(({ record, change }, i) => {
      const result = results[i];
      if (!result) throw new Error("the contacts writer answered no result");
      if (result.ok && change.op === "create" && inserted >= room) {
        reject(record.recordNumber, { column: null, reason: ErrorReason.tenantLimit, value: null });
      } else if (result.ok) {
        if (change.op === "create") inserted++;
        else updated++;
      } else if (result.error.kind === "PRECONDITION_FAILED") {
        throw new ConcurrentChange();
      } else {
        for (const e of this.recordErrors(record, result.error)) reject(record.recordNumber, e);
      }
    });

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

  /** The tenant's creation criteria, as committed (the API reads them with the caller's key). */
  private async requiresPrimaryAddress(): Promise<boolean> {
    const [tenant] = (
      await this.client.query<{ settings: TenantSettings }>("select settings from tenants where id = $1", [
        this.options.tenantId,
      ])
    ).rows;
    return tenant ? requiresPrimaryAddress(tenant.settings) : false;
  }

  /**
   * The writer's refusal of a record as the errors of the columns it comes from, each with the
   * value the report may show (one error per column).
   */
  private recordErrors(r: GoodRecord, error: ContactsError): RecordError[] {
    const byColumn = new Map<string | null, RecordError>();
    for (const e of error.errors) {
      const mapped = this.recordError(r, e);
      if (!byColumn.has(mapped.column)) byColumn.set(mapped.column, mapped);
    }
    return [...byColumn.values()];
  }

  private recordError(r: GoodRecord, error: FieldError): RecordError {
    const { job } = this;
    if (error.reason === ErrorReason.locked) {
      // As through the API: a locked contact does not change (README, "Locked contacts").
      const key =
        job.match_on === "email" ? (r.data.emails[0]?.address ?? null) : (r.data.externalId ?? null);
      return {
        column: this.header(job.match_on),
        reason: ErrorReason.locked,
        value: this.reported(job.match_on, key),
      };
    }
    if (error.reason === ErrorReason.tenantLimit) return { column: null, reason: error.reason, value: null };
    const path = (error.field ?? "").split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const field = csvFieldOfPath(path);
    if (!field) return { column: null, reason: error.reason, value: null };
    const values: Partial<Record<CsvField, string | null>> = {
      externalId: r.data.externalId ?? null,
      accountId: r.data.accountId ?? null,
      roles: r.data.roles.join(";"),
      taxId: r.maskedTaxId ?? null,
    };
    const shown = field in values && path.length <= 2 ? (values[field] ?? null) : null;
    return { column: this.header(field), reason: error.reason, value: this.reported(field, shown) };
  }

  private duplicateOf(field: CsvField, value: string | null | undefined): RecordError {
    return {
      column: this.header(field),
      reason: ErrorReason.duplicate,
      value: this.reported(field, value ?? null),
    };
  }

  /** A matched contact's tax ID in clear (decrypted, or a legacy plaintext one), or null. */
  private storedTaxId(target: Matched): string | null {
    const { vault, tenantId } = this.options;
    if (target.taxIdCiphertext)
      return vault.decrypt(target.taxIdCiphertext, { tenantId, contactId: target.id });
    return target.taxIdLegacy ?? null;
  }

  /**
   * The matched contact's editable fields with the record's changed ones (tax ID in clear, or the
   * record's masked one for the writer to resolve), or null when the record changes nothing. Fields
   * equal as compared keep their stored form (a phone typed differently stays as typed).
   */
  private merge(target: Matched, r: GoodRecord): ContactData | null {
    const { vault, tenantId } = this.options;
    const stored = this.storedTaxId(target);
    const before = contactData(target, stored);
    const changed = this.present.filter((k) => k !== "taxId" && !sameValue(k, before[k], r.data[k]));
    let taxChanged = false;
    if (this.present.includes("taxId")) {
      if (r.maskedTaxId !== undefined) taxChanged = !stored || maskLast4(stored) !== r.maskedTaxId;
      else {
        const storedIndex = target.taxIdIndex ?? (stored ? vault.blindIndex(stored, tenantId) : null);
        taxChanged = storedIndex !== (r.data.taxId ? vault.blindIndex(r.data.taxId, tenantId) : null);
      }
    }
    if (!changed.length && !taxChanged) return null;
    return { ...before, ...pick(r.data, changed), taxId: taxChanged ? r.data.taxId : stored };
  }
}
