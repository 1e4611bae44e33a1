/**
 * A real worker process for the crash-safety tests: the real `startWorker` on the test database,
 * with the chunk size and rescan timings from the environment (as `main.ts` takes them).
 * Run as `node --conditions=source --import tsx src/testing/worker-process.ts`.
 */
import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { pino } from "pino";

import { env } from "../env.js";
import { startWorker } from "../worker.js";
import { testDatabaseEnv } from "./env.js";

// Test-only wiring: the test passes the database it created.
const database = testDatabaseEnv();

const worker = await startWorker({
  databaseUrl: database.url,
  appUrl: database.appUrl,
  keyring: generateKeyringForTests(),
  log: pino({ level: env.LOG_LEVEL }),
  chunkRecords: env.IMPORT_CHUNK_RECORDS,
  chunkChars: env.IMPORT_CHUNK_CHARS,
  parseThreads: env.IMPORT_PARSE_THREADS,
  rescanSeconds: env.IMPORT_RESCAN_SECONDS,
  staleSeconds: env.IMPORT_STALE_SECONDS,
});
process.stdout.write("ready\n");
process.on("SIGTERM", () => void worker.stop().then(() => process.exit(0)));
