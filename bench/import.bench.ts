/**
 * The import benchmark (`npm run bench:import -w @contacts/bench`): generates a realistic CSV
 * (BENCH_IMPORT_RECORDS, default 1,000,000 records: names, mixed phone formats, quoted commas and
 * line breaks, about 1 % bad rows), then in one run times
 *   (a) `psql \copy` of the file into a table of text columns with the contacts table's unique and
 *       lookup indexes (the raw baseline),
 *   (b) a fresh import through the product (upload over HTTP, the worker in its own process, until
 *       the import completes),
 *   (c) a re-import of the same file in upsert mode (every record matched by external id),
 * and prints rows/s, the ratios to (a) and the worker's peak RSS (VmHWM); then (d) the floor of a
 * deferred-index load of the same contacts (`measureLoadFloor`). Markdown on stdout.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

import pg from "pg";
import { createContactsClient } from "@contacts/client/client";
import { uploadImport } from "@contacts/client/csv";
import { createTenantWithKey } from "@contacts/api/tenants/tenant.service";
import { CSV_HEADERS } from "@contacts/domain/csv-layout";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { generateContactsCsv } from "./import-data.js";
import { measureLoadFloor } from "./import-floor.js";
import { startBenchEnvironment } from "./setup.js";

const RECORDS = Number(process.env.BENCH_IMPORT_RECORDS ?? 1_000_000);
/** The baseline's text columns, one per column of the CSV layout (`First Name` -> first_name), in its order. */
const BASELINE_COLUMNS = CSV_HEADERS.map((h) => h.toLowerCase().replace(/[^a-z0-9]+/g, "_"));
const TENANT = "imports";
const TARGET_FRESH = 0.5;
const TARGET_REIMPORT = 0.35;
const TARGET_RSS_MB = 300;

const log = (line = ""): void => console.log(line);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

const env = await startBenchEnvironment({
  jobQueue: true,
  importLimits: { maxFileBytes: 2 ** 31, maxRecords: 10_000_000 },
});
const { api, url, appUrl } = env;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-import-bench-"));
let worker: ReturnType<typeof spawn> | null = null;
try {
  const { apiKey } = await createTenantWithKey(api.orm.em.fork(), {
    tenant: { id: TENANT, name: TENANT },
    keyName: "bench",
    permissions: ALL_PERMISSIONS,
    createdBy: "bench",
  });
  const client = createContactsClient({ url: api.url, apiKey: apiKey.key });

  console.error(`generating ${String(RECORDS)} records...`);
  const csv = await generateContactsCsv(path.join(dir, "contacts.csv"), RECORDS);
  console.error(`  ${(csv.bytes / 2 ** 20).toFixed(0)} MB, ${String(csv.bad)} bad records`);

  // (a) the raw baseline: psql \copy into text columns with the same kind of indexes.
  const owner = new pg.Pool({ connectionString: url, max: 2 });
  await owner.query(`
    create table import_baseline (${BASELINE_COLUMNS.map((c) => `${c} text`).join(", ")});
    create unique index on import_baseline (external_id);
    create index on import_baseline (lower(last_name) collate "C");
    create index on import_baseline (lower(first_name) collate "C");
    create index on import_baseline (lower(company) collate "C");
    create index on import_baseline (lower(nickname) collate "C") where nickname is not null;
    create index on import_baseline (lower(job_title) collate "C") where job_title is not null;
    create index on import_baseline (lower(email));
    create index on import_baseline (status);
    create index on import_baseline (city);
    create index on import_baseline (state);
    create index on import_baseline (country);
    create index on import_baseline (roles);
  `);
  // WAL written and checkpoints taken per run: on a table whose indexes take random inserts, every
  // index page touched for the first time after a checkpoint goes into the WAL whole.
  const walMark = async (): Promise<{ lsn: string; checkpoints: number }> => {
    const [row] = (
      await owner.query<{ lsn: string; checkpoints: string }>(
        `select pg_current_wal_lsn()::text as lsn,
                (select num_timed + num_requested from pg_stat_checkpointer) as checkpoints`,
      )
    ).rows;
    if (!row) throw new Error("no WAL position");
    return { lsn: row.lsn, checkpoints: Number(row.checkpoints) };
  };
  const walSince = async (from: { lsn: string; checkpoints: number }): Promise<string> => {
    const to = await walMark();
    const [row] = (
      await owner.query<{ bytes: string }>("select pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn) as bytes", [
        to.lsn,
        from.lsn,
      ])
    ).rows;
    const bytes = Number(row?.bytes ?? 0);
    return `${(bytes / 2 ** 30).toFixed(1)} GB (${Math.round(bytes / RECORDS).toLocaleString("en-US")} bytes a record, ${String(to.checkpoints - from.checkpoints)} checkpoints)`;
  };
  const psql = spawnSync("psql", ["--version"]);
  if (psql.status !== 0)
    throw new Error("psql is needed for the baseline (apt-get install postgresql-client)");
  console.error("baseline: psql \\copy...");
  const copyWal = await walMark();
  const copyStarted = performance.now();
  const copied = spawnSync(
    "psql",
    [
      url,
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `\\copy import_baseline from '${csv.copyPath}' with (format csv, header true)`,
    ],
    {
      encoding: "utf8",
    },
  );
  const copyMs = performance.now() - copyStarted;
  if (copied.status !== 0) throw new Error(`psql \\copy failed: ${copied.stderr}`);
  const copyWalUsed = await walSince(copyWal);
  await owner.query("drop table import_baseline");

  // The worker in its own process, compiled and started with the flags of its start script (a
  // bounded heap), as `npm start` runs it (this script builds it first), so its peak memory is its
  // own. BENCH_WORKER_PROFILE=1 writes CPU profiles of its threads to /tmp/contacts-worker-profile.
  const workerDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "apps", "worker");
  const startScript = (
    JSON.parse(fs.readFileSync(path.join(workerDir, "package.json"), "utf8")) as {
      scripts: { start: string };
    }
  ).scripts.start;
  const [command, ...args] = startScript.split(/\s+/);
  if (command !== "node") throw new Error(`the worker's start script is not a node command: ${startScript}`);
  if (!fs.existsSync(path.join(workerDir, "dist", "main.js")))
    throw new Error("apps/worker/dist is missing: run npm run build");
  const profile = process.env.BENCH_WORKER_PROFILE
    ? ["--cpu-prof", "--cpu-prof-dir=/tmp/contacts-worker-profile"]
    : [];
  worker = spawn(process.execPath, [...profile, ...args], {
    cwd: workerDir,
    // A throwaway database: the development tax-ID keys are allowed on it.
    env: {
      ...process.env,
      DATABASE_URL: url,
      DATABASE_APP_URL: appUrl,
      LOG_LEVEL: "info",
      ALLOW_DEVELOPMENT_TAX_ID_KEYS: "1",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  // The worker's "import completed" lines carry where its time went.
  const completions: { waitingMs: number; writingMs: number; chunks: number }[] = [];
  if (worker.stdout)
    readline.createInterface({ input: worker.stdout }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as {
          msg?: string;
          waitingMs: number;
          writingMs: number;
          chunks: number;
        };
        if (entry.msg === "import completed") completions.push(entry);
      } catch {
        // not a log line
      }
    });

  const importOnce = async (
    mode: "insert" | "upsert",
  ): Promise<{ ms: number; counts: Record<string, number> }> => {
    const started = performance.now();
    const { importId } = await uploadImport({ url: api.url, apiKey: apiKey.key }, csv.path, {
      mode,
      matchOn: "externalId",
      fileName: `contacts-${mode}.csv`,
    });
    for (;;) {
      if (worker?.exitCode != null) throw new Error(`the worker exited (${String(worker.exitCode)})`);
      const state = await client.imports.get.query({ id: importId });
      if (state.state === "completed" || state.state === "failed" || state.state === "cancelled") {
        if (state.state !== "completed") throw new Error(`import ${state.state}: ${String(state.failure)}`);
        return { ms: performance.now() - started, counts: state.counts };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  console.error("fresh import...");
  const freshWal = await walMark();
  const fresh = await importOnce("insert");
  const freshWalUsed = await walSince(freshWal);
  console.error("re-import (upsert)...");
  const againWal = await walMark();
  const again = await importOnce("upsert");
  const againWalUsed = await walSince(againWal);
  const status = fs.readFileSync(`/proc/${String(worker.pid)}/status`, "utf8");
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  console.error("floor of a deferred-index load...");
  const floor = await measureLoadFloor(owner, TENANT);

  const rate = (ms: number): number => (RECORDS / ms) * 1000;
  // COPY stops at a record of the wrong column count instead of reporting it: the baseline loads
  // the same file without those records, and its rate counts the records it loaded.
  const copyRate = (csv.copyRecords / copyMs) * 1000;
  const rows = [
    ["`psql \\copy` (baseline)", copyMs, copyRate, 1, "-"],
    ["fresh import (insert)", fresh.ms, rate(fresh.ms), rate(fresh.ms) / copyRate, TARGET_FRESH],
    ["re-import (upsert)", again.ms, rate(again.ms), rate(again.ms) / copyRate, TARGET_REIMPORT],
  ] as const;
  log(
    `# Import benchmark: ${String(RECORDS)} records (${(csv.bytes / 2 ** 20).toFixed(0)} MB, ${String(csv.bad)} bad), ${String(os.cpus().length)} cores`,
  );
  log();
  log("| run | seconds | rows/s | ratio to `psql \\copy` | target |");
  log("|---|---|---|---|---|");
  for (const [name, ms, perSecond, ratio, target] of rows) {
    const verdict =
      target === "-"
        ? "-"
        : ratio >= target
          ? `>= ${String(target)}x: ok`
          : `>= ${String(target)}x: **MISS**`;
    log(
      `| ${name} | ${seconds(ms)} | ${Math.round(perSecond).toLocaleString("en-US")} | ${ratio.toFixed(2)}x | ${verdict} |`,
    );
  }
  log();
  log(`Fresh import counts: ${JSON.stringify(fresh.counts)}; re-import: ${JSON.stringify(again.counts)}.`);
  const [freshTimes, againTimes] = completions;
  if (freshTimes && againTimes)
    log(
      `Worker time (fresh / re-import): waiting for the parse thread ${seconds(freshTimes.waitingMs)} / ${seconds(againTimes.waitingMs)} s, writing chunks ${seconds(freshTimes.writingMs)} / ${seconds(againTimes.writingMs)} s (${String(freshTimes.chunks)} chunks).`,
    );
  log(`WAL written: baseline ${copyWalUsed}; fresh import ${freshWalUsed}; re-import ${againWalUsed}.`);
  log(
    `Worker peak RSS (VmHWM): ${(peakKb / 1024).toFixed(0)} MB (target < ${String(TARGET_RSS_MB)} MB: ${peakKb / 1024 < TARGET_RSS_MB ? "ok" : "**MISS**"}).`,
  );
  const loaded = fresh.counts.inserted ?? 0;
  log();
  log(
    `Floor of a deferred-index load of the same ${loaded.toLocaleString("en-US")} contacts (no parsing, validation, staging or events): rows into a bare copy of the contacts table ${seconds(floor.heapMs)} s, then its ${String(floor.indexes)} indexes ${seconds(floor.indexMs)} s, then the postings and their key ${seconds(floor.postingsMs)} s; ${seconds(floor.totalMs)} s in all, ${(((loaded / floor.totalMs) * 1000) / copyRate).toFixed(2)}x of \`psql \\copy\`.`,
  );
  await owner.end();
} finally {
  worker?.kill("SIGTERM");
  await api.close();
  await env.server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
