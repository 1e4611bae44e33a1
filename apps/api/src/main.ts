import cluster from "node:cluster";
import type { Worker } from "node:cluster";

import { openDatabase } from "@contacts/db/database";
import type { Database } from "@contacts/db/database";
import { onStopSignal } from "@contacts/db/shutdown";
import { loggableError } from "@contacts/db/loggable-error";
import { dbEnv } from "@contacts/db/env";
import { apiPoolSize } from "@contacts/db/connection-budget";
import { createOrm } from "@contacts/db/orm";
import { maxConnectionsOf } from "@contacts/db/request-tokens";
import { rotateTaxIdKeys } from "@contacts/contacts/maintenance/tax-id-rotation";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { pruneContactEvents } from "@contacts/db/event-retention";

import {
  apiProcesses,
  configuredVariables,
  env,
  importLimits,
  keyringRefusal,
  loadKeyring,
  tokenConfig,
  uploadLimits,
} from "./env.js";
import { createLogger } from "./logger.js";
import type { Logger } from "./logger.js";
import { startServer } from "./server.js";
import type { RunningServer } from "./server.js";
import { ensureDemoTenant } from "./tenants/demo.js";
import { startImportJobQueue } from "./imports/import-jobs.js";

/**
 * `npm start`: API_PROCESSES processes serve HTTP on one port (node:cluster). The primary opens and
 * migrates the database (starting the embedded PostgreSQL when DATABASE_URL is unset), does the
 * one-off start-up work (tax IDs re-encrypted, the demo tenant, change-event retention), then forks
 * the processes that serve, restarts one that dies, and on a stop signal stops them all (each
 * answering its requests in flight) before the database. With API_PROCESSES=1 the one process
 * does both, without forking.
 */

/** What the primary hands a serving process (over IPC: the URLs carry passwords). */
interface ServeMessage {
  type: "serve";
  appUrl: string;
  ownerUrl: string;
  poolMax: number;
  processes: number;
}

/** What a serving process tells the primary. */
interface ListeningMessage {
  type: "listening";
  url: string;
}

const log = createLogger(env.LOG_LEVEL);

function serve(
  logger: Logger,
  urls: { appUrl: string; ownerUrl: string },
  poolMax: number,
  processes: number,
  processTag?: string,
): Promise<RunningServer> {
  const { keyring } = loadKeyring();
  return startServer({
    databaseUrl: urls.appUrl,
    poolMax,
    processes,
    ...(processTag ? { processTag } : {}),
    host: env.HOST,
    port: env.PORT,
    log: logger,
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxBatchSize: env.MAX_BATCH_SIZE,
    statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
    taxIdKeyring: keyring,
    tokens: tokenConfig,
    jobQueueUrl: urls.ownerUrl,
    importLimits,
    uploadLimits,
  });
}

/** A forked process: waits for the primary's settings, serves, and stops when told (or signalled). */
async function runServingProcess(): Promise<void> {
  const id = String(cluster.worker?.id ?? 0);
  const logger = log.child({ apiProcess: id });
  let server: RunningServer | null = null;
  let stopping = false as boolean; // set by the signal handlers
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    // Stops accepting, answers the requests in flight, then closes the queue, listener and pool.
    await server?.close();
    process.exit(0);
  };
  // Ctrl-C signals the whole process group; the primary also sends "stop". Either way, once.
  onStopSignal(() => void shutdown());
  process.on("message", (message: unknown) => {
    if ((message as { type?: unknown }).type === "stop") void shutdown();
  });
  // The primary is gone (killed): nothing would stop this process any more.
  process.on("disconnect", () => void shutdown());
  const settings = await new Promise<ServeMessage>((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as { type?: unknown }).type !== "serve") return;
      process.off("message", onMessage);
      resolve(message as ServeMessage);
    };
    process.on("message", onMessage);
    // Asked for only now: a message sent before this process listens for it would be lost.
    process.send?.({ type: "ready" });
  });
  server = await serve(logger, settings, settings.poolMax, settings.processes, id);
  if (stopping) {
    await server.close();
    process.exit(0);
  }
  process.send?.({ type: "listening", url: server.url } satisfies ListeningMessage);
}

/** The start-up work done once, by the primary (or the only process). */
async function prepare(): Promise<{ database: Database; poolMax: number }> {
  log.info({ configured: configuredVariables }, "configuration");
  const refusal = keyringRefusal();
  if (refusal) {
    log.fatal(refusal);
    process.exit(1);
  }
  const database = await openDatabase({ apiProcesses });
  const { keyring, source } = loadKeyring();
  if (source === "file" && dbEnv.databaseUrl) {
    log.warn(
      "TAX_ID_KEYS is not set: tax IDs are encrypted with development keys from the data folder (ALLOW_DEVELOPMENT_TAX_ID_KEYS=1)",
    );
  }
  if (database.server) {
    // Rows stored before tax IDs were encrypted, on a development database: encrypt them now.
    const { done } = await rotateTaxIdKeys(database.url, new TaxIdVault(keyring));
    if (done > 0) log.info({ rows: done }, "tax IDs re-encrypted under the current key");
  }
  // Each process's pool, so that every process's connections stay under max_connections.
  const maxConnections = await maxConnectionsOf(database.url);
  const poolMax = apiPoolSize(maxConnections, apiProcesses);
  log.info({ processes: apiProcesses, maxConnections, poolPerProcess: poolMax }, "connection budget");
  return { database, poolMax };
}

/** Change-event retention, as the owner (the application role may not delete events): hourly. */
function startEventRetention(ownerUrl: string): NodeJS.Timeout {
  const DAY_MS = 86_400_000;
  const pruneEvents = () =>
    pruneContactEvents(ownerUrl, new Date(Date.now() - env.CONTACT_EVENTS_RETENTION_DAYS * DAY_MS)).then(
      ({ deleted }) => deleted > 0 && log.info({ deleted }, "expired change events deleted"),
      (error: unknown) => log.error(loggableError(error), "change event retention failed"),
    );
  void pruneEvents();
  const pruning = setInterval(() => void pruneEvents(), 3_600_000);
  pruning.unref();
  return pruning;
}

function announce(url: string, database: Database, devKey: string | null): void {
  const shown = env.PUBLIC_URL ?? url;
  log.info(
    {
      url: shown,
      processes: apiProcesses,
      embeddedDatabase: Boolean(database.server),
      serviceTokens: Boolean(tokenConfig.service.secret ?? tokenConfig.service.jwksFile),
      userTokens: Boolean(tokenConfig.user.secret ?? tokenConfig.user.jwksFile),
    },
    "contacts API listening",
  );
  // Printed plainly (not through the logger) so a person sees where to go and what key to use.
  process.stdout.write(`\nContacts API: ${shown}/trpc   (health: ${shown}/health)\n`);
  if (devKey) process.stdout.write(`Development API key for tenant "demo": ${devKey}\n\n`);
}

const demoWanted = (database: Database) =>
  env.CONTACTS_DEMO ? env.CONTACTS_DEMO === "1" : Boolean(database.server);

/** API_PROCESSES=1: this process prepares and serves. */
async function runSingleProcess(): Promise<void> {
  const { database, poolMax } = await prepare();
  const server = await serve(log, { appUrl: database.appUrl, ownerUrl: database.url }, poolMax, 1);
  const devKey = demoWanted(database) ? await ensureDemoTenant(server.orm.em.fork(), dbEnv.dataDir) : null;
  announce(server.url, database, devKey);
  const pruning = startEventRetention(database.url);

  let stopping = false as boolean; // set by the signal handlers
  onStopSignal((signal) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    clearInterval(pruning);
    void server
      .close()
      .then(() => database.server?.stop())
      .then(() => {
        log.info("stopped");
        process.exit(0);
      });
  });
}

/** How long a process must have run for its death to be restarted at once (else after a second). */
const STEADY_MS = 10_000;

/** The primary of several processes: prepares, forks, supervises, stops them all. */
async function runPrimary(): Promise<void> {
  const { database, poolMax } = await prepare();
  // pg-boss's schema and the import queue, made once here rather than by the processes at once.
  await (await startImportJobQueue(database.url, log)).stop();
  let devKey: string | null = null;
  if (demoWanted(database)) {
    const orm = await createOrm({ url: database.appUrl, poolMax: 1 });
    try {
      devKey = await ensureDemoTenant(orm.em.fork(), dbEnv.dataDir);
    } finally {
      await orm.close();
    }
  }
  const settings: ServeMessage = {
    type: "serve",
    appUrl: database.appUrl,
    ownerUrl: database.url,
    poolMax,
    processes: apiProcesses,
  };

  let stopping = false as boolean; // set by the signal handlers
  let started = false;
  let pruning: NodeJS.Timeout | null = null;
  const startedAt = new Map<Worker, number>();
  const exits = new Map<Worker, Promise<number>>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    exits.set(
      worker,
      new Promise((resolve) => worker.once("exit", (code, signal) => resolve(signal ? 1 : code))),
    );
    worker.on("message", (message: unknown) => {
      if ((message as { type?: unknown }).type === "ready") worker.send(settings);
    });
    return worker;
  };

  const stopAll = async (code: number, signal: string | null): Promise<never> => {
    stopping = true;
    if (signal) log.info({ signal }, "shutting down");
    if (pruning) clearInterval(pruning);
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send({ type: "stop" });
    }
    const codes = await Promise.all(exits.values());
    const failed = codes.filter((c) => c !== 0).length;
    await database.server?.stop();
    if (failed > 0 && code === 0) {
      log.error({ failed }, "API processes did not stop cleanly");
      code = 1;
    }
    log.info("stopped");
    process.exit(code);
  };

  cluster.on("exit", (worker, code, signal) => {
    exits.delete(worker);
    if (stopping) return;
    if (!started) {
      log.fatal({ apiProcess: worker.id, code, signal }, "an API process failed to start");
      void stopAll(1, null);
      return;
    }
    const ranMs = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    log.error(
      { apiProcess: worker.id, pid: worker.process.pid, code, signal },
      "API process died; starting another",
    );
    setTimeout(() => !stopping && fork(), ranMs < STEADY_MS ? 1_000 : 0);
  });
  onStopSignal((signal) => {
    if (!stopping) void stopAll(0, signal);
  });

  const listening = Array.from({ length: apiProcesses }, () => {
    const worker = fork();
    return new Promise<string>((resolve) => {
      worker.on("message", (message: unknown) => {
        if ((message as { type?: unknown }).type === "listening") resolve((message as ListeningMessage).url);
      });
    });
  });
  const [url] = await Promise.all(listening);
  if (stopping) return;
  started = true;
  announce(url ?? "", database, devKey);
  pruning = startEventRetention(database.url);
}

if (cluster.isWorker) await runServingProcess();
else if (apiProcesses === 1) await runSingleProcess();
else await runPrimary();
