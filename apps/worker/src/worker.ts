import PgBoss from "pg-boss";
import type { Logger } from "pino";

import { IMPORT_QUEUE } from "./queues.js";

export interface RunningWorker {
  boss: PgBoss;
  stop(): Promise<void>;
}

/**
 * Starts pg-boss on the application database and subscribes to the import queue. pg-boss keeps its
 * own tables in the `pgboss` schema and migrates them itself.
 */
export async function startWorker(options: { databaseUrl: string; log: Logger }): Promise<RunningWorker> {
  const boss = new PgBoss({ connectionString: options.databaseUrl, max: 4 });
  boss.on("error", (error: Error) =>
    options.log.error({ errorClass: error.constructor.name }, "pg-boss error"),
  );
  await boss.start();
  await boss.createQueue(IMPORT_QUEUE);
  await boss.work(IMPORT_QUEUE, (jobs) => {
    // The CSV import pipeline is its own issue; until it lands a job fails with a clear reason.
    for (const job of jobs)
      options.log.warn({ jobId: job.id }, "import job received before the import pipeline exists");
    return Promise.reject(new Error("CSV import is not available yet"));
  });
  options.log.info({ queue: IMPORT_QUEUE }, "worker ready");
  return { boss, stop: () => boss.stop({ graceful: true, wait: true }) };
}
