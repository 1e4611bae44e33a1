import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import pg from "pg";
import { pino } from "pino";

import { IMPORT_QUEUE } from "./queues.js";
import { startWorker } from "./worker.js";
import type { RunningWorker } from "./worker.js";

let db: TestDatabase;
let worker: RunningWorker;

beforeAll(async () => {
  db = await createTestDatabase();
  worker = await startWorker({ databaseUrl: db.url, log: pino({ level: "silent" }) });
});

afterAll(async () => {
  await worker.stop();
  await db.drop();
});

describe("worker", () => {
  it("starts pg-boss on the application database with the import queue", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const schema = await client.query(
        "select 1 from information_schema.schemata where schema_name = 'pgboss'",
      );
      expect(schema.rowCount).toBe(1);
    } finally {
      await client.end();
    }
    expect(await worker.boss.getQueue(IMPORT_QUEUE)).toMatchObject({ name: IMPORT_QUEUE });
  });

  it("takes jobs from the queue (and fails them until the import pipeline exists)", async () => {
    const id = await worker.boss.send(IMPORT_QUEUE, { importId: "none" }, { retryLimit: 0 });
    expect(id).toBeTruthy();
    let state: string | undefined;
    for (let i = 0; i < 100 && state !== "failed"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await worker.boss.getJobById(IMPORT_QUEUE, id ?? ""))?.state;
    }
    expect(state).toBe("failed");
  });
});
