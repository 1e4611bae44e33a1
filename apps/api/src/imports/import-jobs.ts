import PgBoss from "pg-boss";
import { IMPORT_QUEUE } from "@contacts/domain/import-job";
import { loggableError } from "@contacts/db/loggable-error";
import { ensureQueue } from "@contacts/db/job-queue";
import type { ImportJobData } from "@contacts/domain/import-job";

import type { Logger } from "../logger.js";

/** Where the API hands a committed import to the workers. */
export interface ImportJobQueue {
  send(job: ImportJobData): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A send-only pg-boss (no workers, no maintenance: the worker process runs those) on the owner's
 * connection, since pg-boss creates and migrates its own `pgboss` schema.
 */
export async function startImportJobQueue(ownerUrl: string, log: Logger): Promise<ImportJobQueue> {
  const boss = new PgBoss({ connectionString: ownerUrl, max: 2, supervise: false, schedule: false });
  boss.on("error", (error: Error) => log.error(loggableError(error), "pg-boss error"));
  await boss.start();
  await ensureQueue(boss, IMPORT_QUEUE);
  return {
    send: async (job) => {
      // One job per import, however often it is sent (a retried upload, the worker's sweep).
      await boss.send(IMPORT_QUEUE, job, { singletonKey: job.importId });
    },
    stop: () => boss.stop({ graceful: false, wait: true }),
  };
}
