/**
 * Processes of the throughput benchmarks: each server (the API as `npm start` runs it, the worker,
 * the raw baseline) and the load generator run in their own process, so that no two of them share an
 * event loop (a generator in the server's thread caps both and hides the server's cost).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.join(here, "..");

/** What the load generator (`load.ts`) is asked to do. */
export interface LoadSpec {
  /** Base URL of the server. */
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  /** One path for every request... */
  path?: string;
  /** ...or paths taken in turn, one a request. */
  paths?: string[];
  /** Request body; `{{n}}` becomes the request's sequence number. */
  body?: string;
}

/** Responses of one load run: 2xx counts and latencies (ms) of the 2xx responses. */
export interface LoadResult {
  ok: number;
  non2xx: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Runs `load.ts` (autocannon) as its own process and returns what it measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-load-"));
  const specFile = path.join(dir, "spec.json");
  fs.writeFileSync(specFile, JSON.stringify(spec));
  try {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "load.ts"), specFile], {
      cwd: here,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`the load generator exited with ${String(code)}`);
    const line = stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as LoadResult;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** Where its stdout (its log) goes. */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Spawns `command args` with stdout into a log file (read by nobody while it runs, so no other
 * process pays for it) and waits until a line of it matches `ready`, whose first group is the URL.
 */
async function spawnServer(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number },
): Promise<ChildServer> {
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `contacts-${name}-`)), "stdout.log");
  const out = fs.openSync(logFile, "w");
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", out, "inherit"],
  });
  fs.closeSync(out);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let url: string | null = null;
  while (!url) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${String(child.exitCode)} (log: ${logFile})`);
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`${name} did not start in time (log: ${logFile})`);
    }
    const match = options.ready.exec(fs.readFileSync(logFile, "utf8"));
    if (match?.[1]) url = match[1];
    else await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    logFile,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The command of an app's `start` script (`node dist/main.js` and its flags), checked to be built. */
function startCommand(appDir: string): string[] {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(appDir, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const [command, ...args] = scripts.start.split(/\s+/);
  if (command !== "node")
    throw new Error(`the start script of ${appDir} is not a node command: ${scripts.start}`);
  if (!fs.existsSync(path.join(appDir, "dist", "main.js")))
    throw new Error(`${path.relative(repoRoot, appDir)}/dist is missing: run npm run build`);
  return args;
}

/** Environment of the API and worker processes: a throwaway database and its own data folder. */
export interface AppEnvironment {
  /** Owner URL of the benchmark database. */
  url: string;
  /** Data folder (the development tax-ID keyring, created before the processes start). */
  dataDir: string;
  /** More variables (IMPORT_MAX_FILE_BYTES, LOG_LEVEL, ...). */
  extra?: NodeJS.ProcessEnv;
}

function appEnv(app: AppEnvironment): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: app.url,
    // No DATABASE_APP_URL: the apps give the application role its login derived from DATABASE_URL.
    CONTACTS_DATA_DIR: app.dataDir,
    // A throwaway database: the development tax-ID keys are allowed on it.
    ALLOW_DEVELOPMENT_TAX_ID_KEYS: "1",
    CONTACTS_DEMO: "0",
    LOG_LEVEL: "info",
    ...app.extra,
  };
}

/** The API (apps/api/dist, as its start script runs it) in its own process, on a free port. */
export function startApiProcess(app: AppEnvironment): Promise<ChildServer> {
  const apiDir = path.join(repoRoot, "apps", "api");
  // BENCH_API_NODE_ARGS: flags for the API's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  return spawnServer("api", process.execPath, [...nodeArgs, ...startCommand(apiDir)], {
    cwd: apiDir,
    env: { ...appEnv(app), HOST: "127.0.0.1", PORT: "0" },
    ready: /Contacts API: (http:\/\/\S+)\/trpc/,
  });
}

/**
 * The import worker (apps/worker/dist, as its start script runs it, with its bounded heap) in its own
 * process. `onLine` receives its log lines when given (then stdout is piped, not written to a file).
 */
export function startWorkerProcess(
  app: AppEnvironment,
  options: { execArgv?: string[]; onLine?: (line: string) => void } = {},
): ChildProcess {
  const workerDir = path.join(repoRoot, "apps", "worker");
  const args = startCommand(workerDir);
  const worker = spawn(process.execPath, [...(options.execArgv ?? []), ...args], {
    cwd: workerDir,
    env: appEnv(app),
    stdio: ["ignore", options.onLine ? "pipe" : "ignore", "inherit"],
  });
  if (options.onLine && worker.stdout) {
    const onLine = options.onLine;
    let rest = "";
    worker.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
  }
  return worker;
}

/**
 * The raw baseline (`baseline-server.ts`: Hono + `pg`) in its own process, on a free port,
 * connected with `url` (the owner for the CRUD benchmark, the application role for the search one).
 */
export function startBaselineProcess(url: string, tenantId: string): Promise<ChildServer> {
  return spawnServer(
    "baseline",
    process.execPath,
    // The workspace packages from source, as the benchmark itself imports them.
    ["--conditions=source", "--import", "tsx", path.join(here, "baseline-server.ts")],
    {
      cwd: here,
      env: { ...process.env, DATABASE_URL: url, BENCH_TENANT: tenantId },
      ready: /baseline listening on (http:\/\/\S+)/,
    },
  );
}
