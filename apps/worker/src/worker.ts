import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { loggableError } from "@contacts/db/loggable-error";
import { ensureQueue } from "@contacts/db/job-queue";
import type { TaxIdKeyring } from "@contacts/db/crypto/keyring";
import { IMPORT_QUEUE } from "@contacts/domain/import-job";
import type { ImportJobData } from "@contacts/domain/import-job";
import PgBoss from "pg-boss";
import pg from "pg";
import type { Logger } from "pino";

import { runImport } from "./imports/import-runner.js";

export interface RunningWorker {
  boss: PgBoss;
  /** Queues imports left without a live job (see `startWorker`); returns how many. */
  rescan(): Promise<number>;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** The owner's URL: pg-boss, and the cross-tenant rescan (it needs BYPASSRLS or the superuser). */
  databaseUrl: string;
  /** The application role's URL: imports run under row-level security. */
  appUrl: string;
  keyring: TaxIdKeyring;
  log: Logger;
  chunkRecords?: number;
  /** A chunk also ends once its records hold this many characters (default 4 Mi). */
  chunkChars?: number;
  /** Parse threads per import (default 1). */
  parseThreads?: number;
  rescanSeconds?: number;
  staleSeconds?: number;
}

function isImportJob(data: unknown): data is ImportJobData {
  const d = data as Partial<ImportJobData> | null;
  return typeof d?.tenantId === "string" && typeof d.importId === "string";
}

/**
 * Starts pg-boss on the application database and runs import jobs (`{ tenantId, importId }`), one
 * at a time per worker. On start and every `rescanSeconds` it queues again the imports that have no
 * live job: queued ones whose job never arrived (the API stopped between commit and send) and
 * running ones with no progress for `staleSeconds` (their worker died). A duplicate job is harmless:
 * each chunk commits with a compare-and-set on the checkpoint, so only one worker's chunk counts.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { log } = options;
  const vault = new TaxIdVault(options.keyring);
  const boss = new PgBoss({ connectionString: options.databaseUrl, max: 4 });
  boss.on("error", (error: Error) => log.error(loggableError(error), "pg-boss error"));
  await boss.start();
  await ensureQueue(boss, IMPORT_QUEUE);
  await boss.work(IMPORT_QUEUE, { batchSize: 1 }, async (jobs) => {
    for (const job of jobs) {
      log.debug({ jobId: job.id }, "import job received");
      const data = job.data;
      if (!isImportJob(data)) throw new Error("an import job carries { tenantId, importId }");
      const outcome = await runImport({
        appUrl: options.appUrl,
        vault,
        tenantId: data.tenantId,
        importId: data.importId,
        batchRecords: options.chunkRecords ?? 1_000,
        batchChars: options.chunkChars ?? 4 * 2 ** 20,
        parseThreads: options.parseThreads ?? 1,
        log,
      }).catch((error: unknown) => {
        // pg-boss retries the job (and keeps the message in its own table, not in the log).
        log.error({ importId: data.importId, ...loggableError(error) }, "import job failed");
        throw error;
      });
      log.debug({ jobId: job.id, importId: data.importId, outcome }, "import job done");
    }
  });

  const rescan = async (): Promise<number> => {
    const owner = new pg.Client({ connectionString: options.databaseUrl });
    await owner.connect();
    try {
      const stale = options.staleSeconds ?? 120;
      const found = await owner.query<{ tenant_id: string; id: string }>(
        `select i.tenant_id, i.id from imports i
          where (i.state = 'running' and i.updated_at < now() - make_interval(secs => $2))
             or (i.state = 'queued' and i.created_at < now() - interval '5 seconds' and not exists (
                   select 1 from pgboss.job j
                    where j.name = $1 and j.data ->> 'importId' = i.id::text and j.state < 'completed'))`,
        [IMPORT_QUEUE, stale],
      );
      for (const row of found.rows) {
        await boss.send(IMPORT_QUEUE, { tenantId: row.tenant_id, importId: row.id }, { retryLimit: 3 });
        // A stalled import shows progress again, so the next rescan does not queue it twice.
        await owner.query("update imports set updated_at = now() where tenant_id = $1 and id = $2", [
          row.tenant_id,
          row.id,
        ]);
      }
      if (found.rows.length) log.info({ count: found.rows.length }, "imports queued again");
      return found.rows.length;
    } finally {
      await owner.end();
    }
  };
  const rescanSafely = () =>
    rescan().catch((error: unknown) => log.warn(loggableError(error), "import rescan failed"));
  await rescanSafely();
  const timer = setInterval(() => void rescanSafely(), (options.rescanSeconds ?? 30) * 1000);
  timer.unref();

  log.info({ queue: IMPORT_QUEUE }, "worker ready");
  return {
    boss,
    rescan,
    stop: async () => {
      clearInterval(timer);
      await boss.stop({ graceful: true, wait: true });
    },
  };
}
