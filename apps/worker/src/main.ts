import { openDatabase } from "@contacts/db/database";
import { onStopSignal } from "@contacts/db/shutdown";
import { pino } from "pino";

import { configuredVariables, env, keyringRefusal, loadKeyring } from "./env.js";
import { startWorker } from "./worker.js";

const log = pino({ level: env.LOG_LEVEL, base: { service: "contacts-worker" } });
log.info({ configured: configuredVariables }, "configuration");
const refusal = keyringRefusal();
if (refusal) {
  log.fatal(refusal);
  process.exit(1);
}

const database = await openDatabase();
const worker = await startWorker({
  databaseUrl: database.url,
  appUrl: database.appUrl,
  keyring: loadKeyring().keyring,
  log,
  chunkRecords: env.IMPORT_CHUNK_RECORDS,
  chunkChars: env.IMPORT_CHUNK_CHARS,
  parseThreads: env.IMPORT_PARSE_THREADS,
  rescanSeconds: env.IMPORT_RESCAN_SECONDS,
  staleSeconds: env.IMPORT_STALE_SECONDS,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "worker shutting down");
  await worker.stop();
  await database.server?.stop();
  log.info("worker stopped");
  process.exit(0);
}
onStopSignal((signal) => void shutdown(signal));
