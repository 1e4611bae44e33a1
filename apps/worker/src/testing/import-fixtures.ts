import { createHash, randomUUID } from "node:crypto";

import pg from "pg";
import { pino } from "pino";

import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { IMPORT_QUEUE } from "@contacts/domain/import-job";
import type { ImportLimits } from "@contacts/domain/import-job";

import { testLogLevel } from "../env.js";
import { startWorker } from "../worker.js";
import type { RunningWorker } from "../worker.js";

export const DEFAULT_LIMITS: ImportLimits = {
  maxFileBytes: 100_000_000,
  maxFieldBytes: 10_000,
  maxColumns: 100,
  maxRecords: 1_000_000,
};

/** Runs `fn` with a client of the owner's URL. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A tenant with the given roles (and an optional contact limit). */
export async function createTenant(
  ownerUrl: string,
  roles: string[] = ["PRIMARY", "BILLING"],
  limit?: number,
): Promise<string> {
  const tenantId = `t${randomUUID().slice(0, 8)}`;
  await withClient(ownerUrl, async (c) => {
    await c.query("insert into tenants (id, name, settings) values ($1, $1, $2)", [
      tenantId,
      JSON.stringify(limit === undefined ? {} : { limits: { contacts: limit } }),
    ]);
    for (const code of roles)
      await c.query("insert into roles (tenant_id, code) values ($1, $2)", [tenantId, code]);
  });
  return tenantId;
}

export interface TestImport {
  mode?: "insert" | "upsert";
  matchOn?: "externalId" | "email";
  dryRun?: boolean;
  accountId?: string | null;
  mapping?: Record<string, string | null>;
  limits?: Partial<ImportLimits>;
  /** Bytes per stored chunk (small values test records split across chunks). */
  chunkBytes?: number;
}

/** Stores an import as the API does (the `imports` row and the file in `import_chunks`), not queued. */
export async function insertImport(
  ownerUrl: string,
  tenantId: string,
  file: string | Buffer,
  options: TestImport = {},
): Promise<string> {
  const id = randomUUID();
  const bytes = Buffer.isBuffer(file) ? file : Buffer.from(file, "utf8");
  await withClient(ownerUrl, async (c) => {
    await c.query(
      `insert into imports (tenant_id, id, mode, match_on, dry_run, account_id, mapping, file_name, file_sha256,
         file_bytes, options_key, limits, created_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'user:test')`,
      [
        tenantId,
        id,
        options.mode ?? "insert",
        options.matchOn ?? "externalId",
        options.dryRun ?? false,
        options.accountId ?? null,
        JSON.stringify(options.mapping ?? {}),
        "contacts.csv",
        createHash("sha256").update(bytes).digest("hex"),
        bytes.length,
        id,
        JSON.stringify({ ...DEFAULT_LIMITS, ...options.limits }),
      ],
    );
    const size = options.chunkBytes ?? 1_048_576;
    for (let seq = 0; seq * size < bytes.length; seq++) {
      await c.query("insert into import_chunks (tenant_id, import_id, seq, data) values ($1, $2, $3, $4)", [
        tenantId,
        id,
        seq,
        bytes.subarray(seq * size, (seq + 1) * size),
      ]);
    }
  });
  return id;
}

/** Queues an import's job as the API does. */
export async function sendImportJob(
  ownerUrl: string,
  tenantId: string,
  importId: string,
  singleton = true,
): Promise<void> {
  const { default: PgBoss } = await import("pg-boss");
  const boss = new PgBoss({ connectionString: ownerUrl, max: 1, supervise: false, schedule: false });
  await boss.start();
  try {
    await boss.send(IMPORT_QUEUE, { tenantId, importId }, singleton ? { singletonKey: importId } : {});
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

export interface ImportState {
  state: string;
  checkpoint: number;
  total_records: number | null;
  processed: number;
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  failure: string | null;
}

export async function importState(
  ownerUrl: string,
  tenantId: string,
  importId: string,
): Promise<ImportState> {
  return withClient(ownerUrl, async (c) => {
    const r = await c.query<ImportState>(
      `select state, checkpoint::int, total_records::int, processed::int, inserted::int, updated::int,
              unchanged::int, failed::int, failure from imports where tenant_id = $1 and id = $2`,
      [tenantId, importId],
    );
    if (!r.rows[0]) throw new Error("no such import");
    return r.rows[0];
  });
}

/** Waits until the import reaches a final state (or `until` holds). */
export async function waitForImport(
  ownerUrl: string,
  tenantId: string,
  importId: string,
  until: (s: ImportState) => boolean = (s) => ["completed", "failed", "cancelled"].includes(s.state),
  timeoutMs = 60_000,
): Promise<ImportState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await importState(ownerUrl, tenantId, importId);
    if (until(s)) return s;
    if (Date.now() > deadline) throw new Error(`import still ${s.state} at checkpoint ${s.checkpoint}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ImportErrorRow {
  record_number: number;
  seq: number;
  column_name: string | null;
  reason: string;
  value: string | null;
}

export async function importErrors(
  ownerUrl: string,
  tenantId: string,
  importId: string,
): Promise<ImportErrorRow[]> {
  return withClient(
    ownerUrl,
    async (c) =>
      (
        await c.query<ImportErrorRow>(
          `select record_number::int, seq::int, column_name, reason, value from import_errors
          where tenant_id = $1 and import_id = $2 order by record_number, seq`,
          [tenantId, importId],
        )
      ).rows,
  );
}

/** A worker on a fresh test database, and an import run to its end through it. */
export interface TestWorker {
  db: TestDatabase;
  worker: RunningWorker;
  /** Queues an import of `csv` for the tenant and waits for it: its id, state and error rows. */
  runImport(
    tenantId: string,
    csv: string | Buffer,
    options?: TestImport,
  ): Promise<{ importId: string; state: ImportState; errors: ImportErrorRow[] }>;
  stop(): Promise<void>;
}

/** Starts a worker (chunks of `chunkRecords`) on a fresh test database; `stop` ends both. */
export async function startTestWorker(chunkRecords = 3): Promise<TestWorker> {
  const db = await createTestDatabase();
  const worker = await startWorker({
    databaseUrl: db.url,
    appUrl: db.appUrl,
    keyring: generateKeyringForTests(),
    log: pino({ level: testLogLevel() }),
    chunkRecords,
  });
  return {
    db,
    worker,
    async runImport(tenantId, csv, options = {}) {
      const importId = await insertImport(db.url, tenantId, csv, options);
      await worker.boss.send(IMPORT_QUEUE, { tenantId, importId }, { singletonKey: importId });
      const state = await waitForImport(db.url, tenantId, importId);
      return { importId, state, errors: await importErrors(db.url, tenantId, importId) };
    },
    async stop() {
      await worker.stop();
      await db.drop();
    },
  };
}
