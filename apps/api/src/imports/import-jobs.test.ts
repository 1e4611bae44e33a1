import PgBoss from "pg-boss";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { ensureQueue } from "@contacts/db/job-queue";
import { IMPORT_QUEUE } from "@contacts/domain/import-job";

import { createLogger } from "../logger.js";
import { startImportJobQueue } from "./import-jobs.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(() => db.drop());

async function queueRows(name: string): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>(
      "select count(*) from pgboss.queue where name = $1",
      [name],
    );
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

describe("the import job queue", () => {
  it("starts in several processes at once on a fresh database: one queue", async () => {
    const log = createLogger("silent");
    // Six senders racing, as API processes and the worker do when started together.
    const queues = await Promise.all(Array.from({ length: 6 }, () => startImportJobQueue(db.url, log)));
    try {
      expect(await queueRows(IMPORT_QUEUE)).toBe(1);
    } finally {
      await Promise.all(queues.map((q) => q.stop()));
    }
  });

  it("ensureQueue raced by four started pg-boss instances: each call succeeds, one queue", async () => {
    // pg-boss's create_queue inserts the queue row, then adds a foreign key to it: a second
    // caller's insert waiting on that row deadlocks with the foreign key's lock.
    // (Raw createQueue here fails with "deadlock detected" within a few rounds.)
    const bosses = Array.from(
      { length: 4 },
      () => new PgBoss({ connectionString: db.url, max: 2, supervise: false, schedule: false }),
    );
    for (const boss of bosses) boss.on("error", () => undefined);
    await Promise.all(bosses.map((boss) => boss.start()));
    try {
      for (let i = 0; i < 5; i++) {
        const name = `raced_${i}`;
        const results = await Promise.allSettled(bosses.map((boss) => ensureQueue(boss, name)));
        const failed = results.filter((r) => r.status === "rejected");
        expect(failed.map((r) => String(r.reason))).toEqual([]);
        expect(await queueRows(name)).toBe(1);
      }
    } finally {
      await Promise.all(bosses.map((boss) => boss.stop({ graceful: false, wait: true })));
    }
  });
});
