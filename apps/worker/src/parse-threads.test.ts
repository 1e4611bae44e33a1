import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { IMPORT_QUEUE } from "@contacts/domain/import-job";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createTenant,
  importErrors,
  insertImport,
  waitForImport,
  withClient,
} from "./testing/import-fixtures.js";
import type { TestImport } from "./testing/import-fixtures.js";
import { startWorker } from "./worker.js";
import type { RunningWorker } from "./worker.js";

/**
 * Several parse threads share the batches of one import (batch i from thread i % n): the outcome
 * is the one of a single thread, in order, including the in-file duplicate rule across threads'
 * batches and a record limit reached inside another thread's batch.
 */
let db: TestDatabase;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await db.drop();
});

/** 40 records: a bad email at 5 and 22, record 9 repeats record 2's external id, 31 repeats 30's. */
const FILE = [
  "External ID,First Name,Last Name,Email",
  ...Array.from({ length: 40 }, (_, n) => {
    const i = n + 1;
    const id = i === 9 ? "e2" : i === 31 ? "e30" : `e${String(i)}`;
    return `${id},First${String(i)},Last${String(i)},${i === 5 || i === 22 ? "bad@" : `p${String(i)}@example.com`}`;
  }),
].join("\n");

async function outcome(worker: RunningWorker, options: TestImport = {}) {
  const tenant = await createTenant(db.url);
  const importId = await insertImport(db.url, tenant, FILE, { chunkBytes: 200, ...options });
  await worker.boss.send(IMPORT_QUEUE, { tenantId: tenant, importId }, { singletonKey: importId });
  const state = await waitForImport(db.url, tenant, importId);
  const rows = await withClient(
    db.url,
    async (c) =>
      (
        await c.query<{ external_id: string; import_record_number: number; number: string }>(
          "select external_id, import_record_number, number from contacts where tenant_id = $1 order by number",
          [tenant],
        )
      ).rows,
  );
  return { state, rows, errors: await importErrors(db.url, tenant, importId) };
}

describe("parse threads", () => {
  it("give the single thread's outcome with 1, 2 and 3 threads, and with chunks cut by size", async () => {
    const results = [];
    // Records here hold 17 to 31 characters (values, without delimiters): 100 characters end a
    // chunk after 4 or 5 records, well before 50.
    const configs = [
      { parseThreads: 1, chunkRecords: 3 },
      { parseThreads: 2, chunkRecords: 3 },
      { parseThreads: 3, chunkRecords: 3 },
      { parseThreads: 2, chunkRecords: 50, chunkChars: 100 },
    ];
    for (const { parseThreads, chunkRecords, chunkChars } of configs) {
      const logged: { msg?: string; chunks?: number }[] = [];
      const log = pino(
        { level: "info" },
        { write: (line: string) => logged.push(JSON.parse(line) as never) },
      );
      // One worker per thread count, one at a time on the queue.
      const worker = await startWorker({
        databaseUrl: db.url,
        appUrl: db.appUrl,
        keyring: generateKeyringForTests(),
        log,
        chunkRecords,
        parseThreads,
        ...(chunkChars ? { chunkChars } : {}),
      });
      workers.push(worker);
      const all = await outcome(worker);
      const chunks = logged.find((l) => l.msg === "import completed")?.chunks;
      results.push({ all, chunks, limited: await outcome(worker, { limits: { maxRecords: 20 } }) });
      await worker.stop();
    }
    const [one] = results;
    // 40 records in chunks of 3 (14 chunks), and in chunks cut at 100 characters in the last run.
    let bySize = 0;
    let chars = 0;
    for (const line of FILE.split("\n").slice(1)) {
      chars += line.split(",").join("").length;
      if (chars >= 100) [bySize, chars] = [bySize + 1, 0];
    }
    if (chars > 0) bySize++;
    expect(bySize).toBeGreaterThan(7);
    expect(results.map((r) => r.chunks)).toEqual([14, 14, 14, bySize]);
    expect(one?.all.state).toMatchObject({ state: "completed", processed: 40, inserted: 36, failed: 4 });
    expect(one?.all.rows.map((r) => r.import_record_number)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1).filter((i) => ![5, 9, 22, 31].includes(i)),
    );
    expect(one?.all.errors.map((e) => [e.record_number, e.column_name, e.reason])).toEqual([
      [5, "Email", "invalid"],
      [9, "External ID", "duplicate"],
      [22, "Email", "invalid"],
      [31, "External ID", "duplicate"],
    ]);
    expect(one?.limited.state).toMatchObject({ state: "failed", processed: 20, inserted: 18, failed: 2 });
    for (const other of results.slice(1)) {
      expect(other.all.state).toEqual(one?.all.state);
      expect(other.all.rows.map((r) => r.import_record_number)).toEqual(
        one?.all.rows.map((r) => r.import_record_number),
      );
      expect(other.all.errors).toEqual(one?.all.errors);
      expect(other.limited.state).toEqual(one?.limited.state);
      expect(other.limited.errors).toEqual(one?.limited.errors);
    }
  }, 120_000);
});
