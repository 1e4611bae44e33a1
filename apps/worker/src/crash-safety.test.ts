import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  createTenant,
  importErrors,
  insertImport,
  sendImportJob,
  waitForImport,
  withClient,
} from "./testing/import-fixtures.js";

let db: TestDatabase;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});
afterAll(async () => {
  await db.drop();
});

const workerDir = fileURLToPath(new URL("..", import.meta.url));

/** Starts a real worker process (with `parseThreads` parse threads per import) and waits until it is ready. */
async function startWorkerProcess(parseThreads = 1): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "src/testing/worker-process.ts"],
    {
      cwd: workerDir,
      env: {
        ...process.env,
        TEST_DATABASE_URL: db.url,
        TEST_DATABASE_APP_URL: db.appUrl,
        LOG_LEVEL: "warn",
        IMPORT_CHUNK_RECORDS: "100",
        IMPORT_PARSE_THREADS: String(parseThreads),
        IMPORT_RESCAN_SECONDS: "0.5",
        IMPORT_STALE_SECONDS: "1",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => b.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited (${code})`)));
  });
  return child;
}

/** 3,000 records, with a bad email every 97th and a repeated external id every 89th. */
function bigFile(): string {
  const lines = ["External ID,First Name,Last Name,Email"];
  for (let i = 1; i <= 3000; i++) {
    const id = i % 89 === 0 ? `x${i - 1}` : `x${i}`;
    lines.push(`${id},First${i},Last${i},${i % 97 === 0 ? "broken" : `p${i}@example.com`}`);
  }
  return lines.join("\n");
}

async function endState(tenantId: string, importId: string) {
  const rows = await withClient(db.url, (c) =>
    c.query<{ external_id: string; import_record_number: number }>(
      "select external_id, import_record_number from contacts where tenant_id = $1 order by import_record_number",
      [tenantId],
    ),
  );
  const errors = await importErrors(db.url, tenantId, importId);
  return { rows: rows.rows, errors };
}

describe("crash safety with real processes", () => {
  it("resumes after SIGKILL from the checkpoint, ending as an uninterrupted run (whatever the parse threads)", async () => {
    const file = bigFile();
    const reference = await createTenant(db.url);
    const crashed = await createTenant(db.url);
    const referenceImport = await insertImport(db.url, reference, file, { chunkBytes: 10_000 });
    const crashedImport = await insertImport(db.url, crashed, file, { chunkBytes: 10_000 });

    // Killed while two parse threads share the batches, resumed with three, compared with one.
    const first = await startWorkerProcess(2);
    await sendImportJob(db.url, crashed, crashedImport);
    const mid = await waitForImport(db.url, crashed, crashedImport, (s) => s.checkpoint > 0, 60_000);
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    const atKill = await waitForImport(db.url, crashed, crashedImport, () => true);
    expect(atKill.state).toBe("running");
    expect(atKill.checkpoint).toBeGreaterThanOrEqual(mid.checkpoint);
    expect(atKill.checkpoint).toBeLessThan(3000);

    const second = await startWorkerProcess(3); // its rescan finds the stalled import and queues it again
    const done = await waitForImport(db.url, crashed, crashedImport, undefined, 120_000);
    second.kill("SIGKILL");
    await new Promise((r) => second.once("exit", r));
    await startWorkerProcess(1);
    await sendImportJob(db.url, reference, referenceImport);
    const referenceDone = await waitForImport(db.url, reference, referenceImport, undefined, 120_000);
    expect(done).toMatchObject({ state: "completed", total_records: 3000, processed: 3000 });
    expect({ ...done, state: done.state }).toMatchObject({
      inserted: referenceDone.inserted,
      failed: referenceDone.failed,
    });
    const a = await endState(crashed, crashedImport);
    const b = await endState(reference, referenceImport);
    expect(a.rows).toEqual(b.rows);
    expect(a.errors).toEqual(b.errors);
    expect(new Set(a.rows.map((r) => r.external_id)).size).toBe(a.rows.length);
    expect(done.inserted + done.failed).toBe(3000);
  }, 240_000);

  it("two workers on one queue never load a chunk twice", async () => {
    await startWorkerProcess();
    await startWorkerProcess();
    const file = bigFile();
    const imports: [string, string][] = [];
    for (let i = 0; i < 3; i++) {
      const tenant = await createTenant(db.url);
      imports.push([tenant, await insertImport(db.url, tenant, file, { chunkBytes: 10_000 })]);
    }
    // Every import gets two jobs, so both workers run it at once.
    for (const [tenant, id] of imports) {
      await sendImportJob(db.url, tenant, id, false);
      await sendImportJob(db.url, tenant, id, false);
    }
    const expected = await (async () => {
      const [tenant, id] = imports[0] ?? ["", ""];
      return waitForImport(db.url, tenant, id, undefined, 180_000);
    })();
    for (const [tenant, id] of imports) {
      const state = await waitForImport(db.url, tenant, id, undefined, 180_000);
      expect(state).toMatchObject({
        state: "completed",
        processed: 3000,
        inserted: expected.inserted,
        failed: expected.failed,
      });
      const { rows, errors } = await endState(tenant, id);
      expect(rows).toHaveLength(state.inserted);
      expect(new Set(rows.map((r) => r.import_record_number)).size).toBe(rows.length);
      expect(new Set(errors.map((e) => `${e.record_number}/${e.seq}`)).size).toBe(errors.length);
    }
  }, 240_000);
});
