import { createHash } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { ImportLimits, ImportOptions, ImportState } from "@contacts/domain/import-job";
import type { CsvField } from "@contacts/domain/csv-layout";

import { decodeCursor, encodeCursor } from "@contacts/contacts/cursor";

/** An `imports` row as PostgreSQL returns it (bigints as strings). */
export interface ImportRow {
  tenant_id: string;
  id: string;
  state: ImportState;
  mode: "insert" | "upsert";
  match_on: "externalId" | "email";
  dry_run: boolean;
  account_id: string | null;
  delimiter: string | null;
  file_name: string;
  file_bytes: string | number;
  total_records: string | number | null;
  processed: string | number;
  inserted: string | number;
  updated: string | number;
  unchanged: string | number;
  failed: string | number;
  cancel_requested: boolean;
  failure: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  /** Columns the worker read past (known by an alias of a field another column fills). */
  ignored_columns: { header: string; field: CsvField; kept: string }[];
  /** Present once the worker records how far into the file it is (the best ETA). */
  bytes_processed?: string | number | null;
}

/** One rejected value of an import. */
export interface ImportErrorRow {
  record_number: string | number;
  seq: number;
  column_name: string | null;
  reason: string;
  value: string | null;
}

/** What a new import is created with. */
export interface NewImport {
  id: string;
  options: ImportOptions;
  idempotencyKey: string | null;
  limits: ImportLimits;
  createdBy: string;
}

/** The upload's outcome: which import answers it and whether it was already there. */
export interface ImportCreated {
  importId: string;
  state: ImportState;
  existing: boolean;
}

/**
 * The import id stands for two uploads being the same: the same file (SHA-256) with the same options
 * (mapping keys sorted; the file name is not an option).
 */
export function optionsKeyOf(fileSha256: string, options: ImportOptions): string {
  const mapping = Object.fromEntries(Object.entries(options.mapping).sort(([a], [b]) => a.localeCompare(b)));
  const canonical = JSON.stringify([
    fileSha256,
    options.mode,
    options.matchOn,
    options.dryRun,
    options.accountId,
    mapping,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

const n = (v: string | number | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));
/** A timestamp as the driver returns it (a Date or text, depending on its type parsers). */
const time = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

/** The path of an import's failed-rows report (relative to the API's base URL). */
export function failedRowsPath(id: string): string {
  return `/v1/imports/${id}/failed-rows.csv`;
}

/**
 * An import as callers see it, with its speed and time left. `rowsPerSecond` is records processed
 * over time running (to now, or to when it finished). `etaSeconds` (while running) comes from, in
 * order: bytes processed when the worker records them, the record count when known, else an
 * estimate of the record count from the file size and the average record size of the file's start
 * (`recordsEstimate`).
 */
export function importView(row: ImportRow, now: Date, recordsEstimate: number | null = null) {
  const processed = n(row.processed);
  const startedAt = time(row.started_at);
  const finishedAt = time(row.finished_at);
  const seconds = startedAt ? ((finishedAt ?? now).getTime() - startedAt.getTime()) / 1000 : 0;
  const rowsPerSecond = seconds > 0 ? Math.round((processed / seconds) * 10) / 10 : null;
  let etaSeconds: number | null = null;
  if (row.state === "running" && seconds > 0) {
    const bytesDone = n(row.bytes_processed);
    const fileBytes = n(row.file_bytes);
    const total = row.total_records !== null ? n(row.total_records) : recordsEstimate;
    if (bytesDone > 0) etaSeconds = (seconds * Math.max(0, fileBytes - bytesDone)) / bytesDone;
    else if (total !== null && rowsPerSecond) etaSeconds = Math.max(0, total - processed) / rowsPerSecond;
    if (etaSeconds !== null) etaSeconds = Math.ceil(etaSeconds);
  } else if (row.state === "completed") {
    etaSeconds = 0;
  }
  const failed = n(row.failed);
  return {
    id: row.id,
    state: row.state,
    mode: row.mode,
    matchOn: row.match_on,
    dryRun: row.dry_run,
    accountId: row.account_id,
    fileName: row.file_name,
    fileBytes: n(row.file_bytes),
    counts: {
      processed,
      inserted: n(row.inserted),
      updated: n(row.updated),
      unchanged: n(row.unchanged),
      failed,
    },
    totalRecords: row.total_records === null ? null : n(row.total_records),
    rowsPerSecond,
    etaSeconds,
    cancelRequested: row.cancel_requested,
    failure: row.failure,
    createdAt: new Date(row.created_at).toISOString(),
    startedAt: startedAt?.toISOString() ?? null,
    finishedAt: finishedAt?.toISOString() ?? null,
    failedRowsUrl: failed > 0 ? failedRowsPath(row.id) : null,
    ignoredColumns: row.ignored_columns,
  };
}
export type ImportView = ReturnType<typeof importView>;

/** A sample of the file's start: enough to estimate its record count. */
const SAMPLE_BYTES = 65_536;

interface ListCursor extends Record<string, string> {
  c: string;
  i: string;
}
interface ErrorCursor extends Record<string, number> {
  r: number;
  s: number;
}

/**
 * Imports of one tenant, in a transaction bound to it: every query also names the tenant (row-level
 * security is the second line). Bigints are converted by `importView`.
 */
export class ImportService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantId: string,
  ) {}

  /** The import, or 404 on `field` (another tenant's id is simply not found). */
  async get(id: string, field = "id"): Promise<ImportRow> {
    const [row] = await this.em.execute<ImportRow[]>("select * from imports where tenant_id = ? and id = ?", [
      this.tenantId,
      id,
    ]);
    if (!row) throw ContactsError.notFound(field);
    return row;
  }

  /** The import as shown, with an estimated record count for its ETA when it needs one. */
  async view(row: ImportRow): Promise<ImportView> {
    let estimate: number | null = null;
    if (row.state === "running" && row.total_records === null && row.bytes_processed == null) {
      const [sample] = await this.em.execute<{ data: Buffer | null }[]>(
        "select substring(data from 1 for ?) as data from import_chunks where tenant_id = ? and import_id = ? and seq = 0",
        [SAMPLE_BYTES, this.tenantId, row.id],
      );
      if (sample?.data && sample.data.length > 0) {
        let lines = 0;
        for (const byte of sample.data) if (byte === 0x0a) lines++;
        estimate = Math.max(0, Math.round((lines * n(row.file_bytes)) / sample.data.length) - 1);
      }
    }
    return importView(row, new Date(), estimate);
  }

  /** Newest first, optionally in one state. */
  async list(input: { cursor?: string | null; limit: number; state?: ImportState | undefined }) {
    const after = input.cursor
      ? decodeCursor<ListCursor>(
          input.cursor,
          `imports.list:${this.tenantId}`,
          (v): v is ListCursor => typeof v.c === "string" && typeof v.i === "string",
        )
      : null;
    const params: unknown[] = [this.tenantId];
    // The cursor keeps the timestamp's microseconds (a JavaScript Date would cut them to milliseconds).
    let sql = "select *, created_at::text as created_key from imports where tenant_id = ?";
    if (input.state) {
      sql += " and state = ?";
      params.push(input.state);
    }
    if (after) {
      sql += " and (created_at, id) < (?::timestamptz, ?::uuid)";
      params.push(after.c, after.i);
    }
    sql += " order by created_at desc, id desc limit ?";
    params.push(input.limit + 1);
    const rows = await this.em.execute<(ImportRow & { created_key: string })[]>(sql, params);
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      rows: page,
      nextCursor:
        rows.length > input.limit && last
          ? encodeCursor({ c: last.created_key, i: last.id }, `imports.list:${this.tenantId}`)
          : null,
    };
  }

  /**
   * Asks the import to stop: a queued one is cancelled at once, a running one stops at its next
   * chunk boundary (the worker reads the flag) keeping what it loaded. A finished one is a 409.
   */
  async cancel(id: string): Promise<ImportRow> {
    const [row] = await this.em.execute<ImportRow[]>(
      `update imports set cancel_requested = true,
         state = case when state = 'queued' then 'cancelled' else state end,
         finished_at = case when state = 'queued' then now() else finished_at end,
         updated_at = now()
       where tenant_id = ? and id = ? and state in ('queued', 'running')
       returning *`,
      [this.tenantId, id],
    );
    if (row) return row;
    const current = await this.get(id);
    throw ContactsError.conflict(ErrorReason.conflict, "id", { state: current.state });
  }

  /** One page of an import's errors, in record order. */
  async errors(id: string, input: { cursor?: string | null; limit: number }) {
    await this.get(id);
    const after = input.cursor
      ? decodeCursor<ErrorCursor>(
          input.cursor,
          `imports.errors:${this.tenantId}:${id}`,
          (v): v is ErrorCursor => typeof v.r === "number" && typeof v.s === "number",
        )
      : { r: 0, s: -1 };
    const rows = await this.em.execute<ImportErrorRow[]>(
      `select record_number, seq, column_name, reason, value from import_errors
       where tenant_id = ? and import_id = ? and (record_number, seq) > (?, ?)
       order by record_number, seq limit ?`,
      [this.tenantId, id, after.r, after.s, input.limit + 1],
    );
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      items: page.map((e) => ({
        recordNumber: n(e.record_number),
        column: e.column_name,
        reason: e.reason,
        value: e.value,
      })),
      nextCursor:
        rows.length > input.limit && last
          ? encodeCursor({ r: n(last.record_number), s: last.seq }, `imports.errors:${this.tenantId}:${id}`)
          : null,
    };
  }

  /**
   * The error text of each failed record from `fromRecord` on, in record order: its errors as
   * `Column: reason` joined with `; ` (reasons, never the values).
   */
  async errorTextsFrom(
    id: string,
    fromRecord: number,
    limit: number,
  ): Promise<{ record: number; text: string }[]> {
    const rows = await this.em.execute<{ record_number: string; text: string }[]>(
      `select record_number,
         string_agg(case when column_name is null then reason else column_name || ': ' || reason end, '; '
           order by seq) as text
       from import_errors where tenant_id = ? and import_id = ? and record_number >= ?
       group by record_number order by record_number limit ?`,
      [this.tenantId, id, fromRecord, limit],
    );
    return rows.map((r) => ({ record: Number(r.record_number), text: r.text }));
  }

  /** One stored chunk of the file, or null past the last. */
  async chunk(id: string, seq: number): Promise<Buffer | null> {
    const [row] = await this.em.execute<{ data: Buffer }[]>(
      "select data from import_chunks where tenant_id = ? and import_id = ? and seq = ?",
      [this.tenantId, id, seq],
    );
    return row?.data ?? null;
  }

  async byIdempotencyKey(key: string): Promise<ImportRow | null> {
    const [row] = await this.em.execute<ImportRow[]>(
      "select * from imports where tenant_id = ? and idempotency_key = ?",
      [this.tenantId, key],
    );
    return row ?? null;
  }

  /**
   * 429 `rate_limited` (Retry-After 30 s) when `max` imports of the tenant are queued or running.
   * `locked`: under a transaction-scoped advisory lock on the tenant's imports, so of two uploads
   * finishing at once the second counts the first (committed by the time it holds the lock).
   */
  async requireImportSlot(max: number, locked: boolean, self: string | null = null): Promise<void> {
    if (locked) {
      await this.em.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [
        `contacts.imports:${this.tenantId}`,
      ]);
    }
    const [row] = await this.em.execute<{ n: number }[]>(
      `select count(*)::int as n from imports
        where tenant_id = ? and state in ('queued', 'running') and id is distinct from ?`,
      [this.tenantId, self],
    );
    if ((row?.n ?? 0) >= max) {
      throw new ContactsError(
        "TOO_MANY_REQUESTS",
        [
          {
            reason: ErrorReason.rateLimited,
            field: null,
            message: `${max} imports of this tenant are queued or running; retry when one ends`,
          },
        ],
        { retryAfterSeconds: 30 },
      );
    }
  }

  async byOptionsKey(optionsKey: string): Promise<ImportRow | null> {
    const [row] = await this.em.execute<ImportRow[]>(
      "select * from imports where tenant_id = ? and options_key = ?",
      [this.tenantId, optionsKey],
    );
    return row ?? null;
  }

  /** 400 `unknown_reference` on `accountId` unless the account is the tenant's. */
  async requireAccount(accountId: string): Promise<void> {
    const [row] = await this.em.execute<{ found: boolean }[]>(
      "select exists (select 1 from accounts where tenant_id = ? and id = ?) as found",
      [this.tenantId, accountId],
    );
    if (!row?.found) {
      throw ContactsError.invalid([{ reason: ErrorReason.unknownReference, field: "accountId" }]);
    }
  }

  /**
   * The import row, before its file: its file fields are placeholders until `completeUpload` (the
   * placeholder options key cannot match another upload's).
   */
  async insert(input: NewImport): Promise<void> {
    const o = input.options;
    await this.em.execute(
      `insert into imports (tenant_id, id, state, mode, match_on, dry_run, account_id, mapping, file_name,
         file_sha256, file_bytes, options_key, idempotency_key, limits, created_by)
       values (?, ?, 'queued', ?, ?, ?, ?, ?::jsonb, ?, '', 0, ?, ?, ?::jsonb, ?)`,
      [
        this.tenantId,
        input.id,
        o.mode,
        o.matchOn,
        o.dryRun,
        o.accountId,
        JSON.stringify(o.mapping),
        o.fileName,
        `uploading:${input.id}`,
        input.idempotencyKey,
        JSON.stringify(input.limits),
        input.createdBy,
      ],
    );
  }

  async insertChunk(id: string, seq: number, data: Buffer): Promise<void> {
    await this.em.execute("insert into import_chunks (tenant_id, import_id, seq, data) values (?, ?, ?, ?)", [
      this.tenantId,
      id,
      seq,
      data,
    ]);
  }

  /** Records the whole file's hash, size and delimiter once it is stored. */
  async completeUpload(
    id: string,
    file: { sha256: string; bytes: number; optionsKey: string; delimiter: string },
  ): Promise<void> {
    await this.em.execute(
      `update imports set file_sha256 = ?, file_bytes = ?, options_key = ?, delimiter = ?, updated_at = now()
       where tenant_id = ? and id = ?`,
      [file.sha256, file.bytes, file.optionsKey, file.delimiter, this.tenantId, id],
    );
  }
}
