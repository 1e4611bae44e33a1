/**
 * CRUD benchmark: the API against a raw baseline in the same run, every party in its own process.
 *
 *  - the API: apps/api/dist as `npm start` runs it (the application role, row-level security, its
 *    pool, request logging at `info` into a file), calls over tRPC HTTP;
 *  - the baseline: `baseline-server.ts`, a minimal Hono + `pg` handler doing the same SELECT / INSERT;
 *  - the load generator: `load.ts` (autocannon), 16 connections, never in a server's event loop;
 *  - the worker (part `import`): apps/worker/dist as `npm start` runs it.
 *
 * One tenant of BENCH_CONTACTS (default 200,000) contacts loaded with `generate_series`. Parts (all by
 * default, or those named on the command line):
 *
 *  - `get`: `contacts.get` (GET /trpc/contacts.get) against `GET /contacts/:id`;
 *  - `create`: `contacts.create` (POST /trpc/contacts.create) against `POST /contacts`;
 *  - `import`: `contacts.create` while an import of a generated CSV (BENCH_CREATE_IMPORT_RECORDS,
 *    default 500,000) into the same tenant runs; the import is cancelled after the rounds.
 *
 * Sides alternate (API, baseline, API, baseline, ...): BENCH_ROUNDS (3) rounds of BENCH_ROUND_SECONDS
 * (10) each, after a 3 s warm-up of each side; medians over the rounds. Markdown on stdout.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import pg from "pg";
import { createOrm } from "@contacts/db/orm";
import { loadTaxIdKeyring } from "@contacts/db/crypto/keyring";
import { createTenantWithKey } from "@contacts/api/tenants/tenant.service";
import { createContactsClient } from "@contacts/client/client";
import { uploadImport } from "@contacts/client/csv";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { generateContactsCsv } from "./import-data.js";
import { runLoad, startApiProcess, startBaselineProcess, startWorkerProcess } from "./processes.js";
import type { ChildServer, LoadResult, LoadSpec } from "./processes.js";
import { alternate, measure, median, ms, pairedRatios, perSecond, summarize } from "./rounds.js";
import type { Summary } from "./rounds.js";
import { startBenchDatabase } from "./setup.js";

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 10);
const IMPORT_RECORDS = Number(process.env.BENCH_CREATE_IMPORT_RECORDS ?? 500_000);
const CONNECTIONS = 16;
const TENANT = "bench";
const PARTS = ["get", "create", "import"] as const;
type Part = (typeof PARTS)[number];

/**
 * `contacts.create` throughput of the issue-18 baseline run (BENCHMARKS.md, "issue 18 baseline"), for
 * the target of at least 5x it.
 */
const ISSUE18_BASELINE_CREATES_PER_SECOND = 84;
const TARGET_CREATE_VS_ISSUE18 = 5;
const TARGET_CREATE_VS_RAW = 0.5;
const TARGET_CREATE_P99_MS = 100;

const requested = process.argv.slice(2);
for (const part of requested)
  if (!(PARTS as readonly string[]).includes(part))
    throw new Error(`unknown part ${part}: expected some of ${PARTS.join(", ")}`);
const parts = new Set<Part>(requested.length > 0 ? (requested as Part[]) : PARTS);

// The report, printed at the end (the migrator writes to stdout while the database is set up).
const report: string[] = [];
const log = (line = ""): void => {
  report.push(line);
};
const progress = (line: string): void => console.error(line);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-crud-bench-"));
const { server, url } = await startBenchDatabase();
let apiServer: ChildServer | null = null;
let rawServer: ChildServer | null = null;
let worker: ReturnType<typeof startWorkerProcess> | null = null;
const owner = new pg.Pool({ connectionString: url, max: 2 });
try {
  const orm = await createOrm({ url, poolMax: 1 });
  const { apiKey } = await createTenantWithKey(orm.em.fork(), {
    // No rate limit in the way of the benchmark (the default is 6,000 requests a minute).
    tenant: {
      id: TENANT,
      name: TENANT,
      settings: { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: 1_000_000 } },
    },
    keyName: "bench",
    permissions: ALL_PERMISSIONS,
    createdBy: "bench",
  });
  await orm.close();

  progress(`loading ${String(CONTACTS)} contacts...`);
  const loadStarted = performance.now();
  await owner.query(
    `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, emails, phones, addresses, status, social,
       notification_preferences, created_at, created_by, updated_at, updated_by)
     select $1, gen_random_uuid(), n, 'person', 'First' || n, 'Last' || n,
       jsonb_build_array(jsonb_build_object('address', 'p' || n || '@example.com', 'label', 'work', 'primary', true)),
       '[]', '[]', 'active', '{}', '{}', now(), 'bench', now(), 'bench'
     from generate_series(1, $2::int) n`,
    [TENANT, CONTACTS],
  );
  await owner.query("update tenants set contact_seq = $2 where id = $1", [TENANT, CONTACTS]);
  // The baseline's numbers: past every number the API hands out in a run.
  await owner.query("create sequence bench_baseline_numbers start with 1000000000");
  await owner.query("vacuum analyze contacts");
  progress(`  ${((performance.now() - loadStarted) / 1000).toFixed(0)} s`);

  // The development keyring, created once before the API and the worker read it.
  loadTaxIdKeyring({ env: {}, dataDir });
  const app = {
    url,
    dataDir,
    extra: { IMPORT_MAX_FILE_BYTES: String(2 ** 31), IMPORT_MAX_RECORDS: "10000000" },
  };
  apiServer = await startApiProcess(app);
  rawServer = await startBaselineProcess(url, TENANT);
  const headers = { authorization: `Bearer ${apiKey.key}` };
  const client = createContactsClient({ url: apiServer.url, apiKey: apiKey.key });
  const apiUrl = apiServer.url;
  const rawUrl = rawServer.url;

  log(
    `# CRUD benchmark: one tenant of ${CONTACTS.toLocaleString("en-US")} contacts, ${String(CONNECTIONS)} connections, ${String(ROUNDS)} alternating rounds of ${String(ROUND_SECONDS)} s a side, ${String(os.cpus().length)} cores`,
  );
  log();
  log(
    "Every party in its own process: the API (apps/api/dist), the baseline (Hono + `pg`), the load generator (autocannon) and, for the import, the worker. Medians over the rounds.",
  );
  log();
  const table = (rows: string[][]): void => {
    log("| operation | side | throughput | p50 ms | p95 ms | p99 ms | per round (/s) |");
    log("| --- | --- | --- | --- | --- | --- | --- |");
    for (const row of rows) log(`| ${row.join(" | ")} |`);
    log();
  };
  const rowOf = (operation: string, side: string, s: Summary): string[] => [
    operation,
    side,
    `${perSecond(s.perSecond)}/s`,
    ms(s.p50),
    ms(s.p95),
    ms(s.p99),
    s.rounds.map((r) => perSecond(r.perSecond)).join(", "),
  ];

  if (parts.has("get")) {
    const ids = (
      await owner.query<{ id: string }>(
        "select id from contacts where tenant_id = $1 order by random() limit 20000",
        [TENANT],
      )
    ).rows.map((r) => r.id);
    const get = await alternate(
      "contacts.get",
      ROUNDS,
      () => ({
        url: apiUrl,
        method: "GET",
        headers,
        connections: CONNECTIONS,
        seconds: ROUND_SECONDS,
        paths: ids.map((id) => `/trpc/contacts.get?input=${encodeURIComponent(JSON.stringify({ id }))}`),
      }),
      () => ({
        url: rawUrl,
        method: "GET",
        headers: {},
        connections: CONNECTIONS,
        seconds: ROUND_SECONDS,
        paths: ids.map((id) => `/contacts/${id}`),
      }),
    );
    log("## `contacts.get`");
    log();
    table([rowOf("`contacts.get`", "API", get.api), rowOf("`contacts.get`", "Hono + `pg`", get.raw)]);
    log(
      `Ratio API / baseline (median throughput): **${(get.api.perSecond / get.raw.perSecond).toFixed(2)}x**; ${pairedRatios(get)}.`,
    );
    log();
  }

  const contactCount = async (): Promise<number> =>
    Number((await owner.query<{ n: string }>("select tenant_contact_count($1) n", [TENANT])).rows[0]?.n ?? 0);
  const createBody = (prefix: string): string =>
    JSON.stringify({
      contact: {
        subtype: "person",
        firstName: "Bench",
        lastName: `${prefix}{{n}}`,
        emails: [{ address: `${prefix.toLowerCase()}{{n}}@example.com` }],
      },
    });
  const apiCreate = (label: string): LoadSpec => ({
    url: apiUrl,
    method: "POST",
    headers,
    connections: CONNECTIONS,
    seconds: ROUND_SECONDS,
    path: "/trpc/contacts.create",
    body: createBody(`Api${label}x`),
  });

  if (parts.has("create")) {
    // Every 2xx is one contact more: checked after each round.
    let before = 0;
    const create = await alternate(
      "contacts.create",
      ROUNDS,
      (round) => apiCreate(String(round + 1)),
      (round) => ({
        url: rawUrl,
        method: "POST",
        headers: {},
        connections: CONNECTIONS,
        seconds: ROUND_SECONDS,
        path: "/contacts",
        body: createBody(`Raw${String(round + 1)}x`),
      }),
      {
        beforeRound: async () => {
          before = await contactCount();
        },
        afterRound: async (side, result) => {
          // Requests still in flight when a round ends are answered after autocannon stops counting:
          // wait for them (the count stops moving), so that they neither load nor count in the next round.
          let count = await contactCount();
          for (;;) {
            await new Promise((r) => setTimeout(r, 300));
            const again = await contactCount();
            if (again === count) break;
            count = again;
          }
          const stored = count - before;
          if (stored < result.ok || stored > result.ok + CONNECTIONS)
            throw new Error(
              `${side}: ${String(result.ok)} creates answered 2xx but ${String(stored)} stored`,
            );
        },
      },
    );
    log("## `contacts.create`");
    log();
    table([
      rowOf("`contacts.create`", "API", create.api),
      rowOf("`contacts.create`", "Hono + `pg`", create.raw),
    ]);
    const ratio = create.api.perSecond / create.raw.perSecond;
    const verdict = (ok: boolean): string => (ok ? "ok" : "**MISS**");
    log(`Ratio API / baseline (median throughput): **${ratio.toFixed(2)}x**; ${pairedRatios(create)}.`);
    log();
    log("| target (issue 18) | measured | verdict |");
    log("| --- | --- | --- |");
    if (ISSUE18_BASELINE_CREATES_PER_SECOND > 0) {
      const times = create.api.perSecond / ISSUE18_BASELINE_CREATES_PER_SECOND;
      log(
        `| at least ${String(TARGET_CREATE_VS_ISSUE18)}x the issue-18 baseline (${perSecond(ISSUE18_BASELINE_CREATES_PER_SECOND)}/s) | ${times.toFixed(2)}x | ${verdict(times >= TARGET_CREATE_VS_ISSUE18)} |`,
      );
    }
    log(
      `| at least ${String(TARGET_CREATE_VS_RAW)}x the Hono + \`pg\` handler | ${ratio.toFixed(2)}x | ${verdict(ratio >= TARGET_CREATE_VS_RAW)} |`,
    );
    log(
      `| p99 under ${String(TARGET_CREATE_P99_MS)} ms | ${ms(create.api.p99)} ms | ${verdict(create.api.p99 < TARGET_CREATE_P99_MS)} |`,
    );
    log();
  }

  if (parts.has("import")) {
    progress(`generating ${String(IMPORT_RECORDS)} records...`);
    const csv = await generateContactsCsv(path.join(dataDir, "contacts.csv"), IMPORT_RECORDS);
    fs.rmSync(csv.copyPath, { force: true });
    progress("contacts.create: warm-up before the import");
    await runLoad({ ...apiCreate("Warm"), seconds: 3 });
    worker = startWorkerProcess(app);
    progress("uploading the import...");
    const { importId } = await uploadImport({ url: apiUrl, apiKey: apiKey.key }, csv.path, {
      mode: "insert",
      fileName: "contacts.csv",
    });
    const importState = () => client.imports.get.query({ id: importId });
    // Measure from the first committed chunk on: the import is then writing into the tenant.
    for (;;) {
      if (worker.exitCode !== null) throw new Error(`the worker exited (${String(worker.exitCode)})`);
      const state = await importState();
      if (state.state !== "queued" && state.state !== "running")
        throw new Error(`the import ended before the creates (${state.state})`);
      if (state.state === "running" && state.counts.processed > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const during: LoadResult[] = [];
    const processed: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const startedAt = (await importState()).counts.processed;
      const result = await measure(`contacts.create during the import, round ${String(round + 1)}`, {
        ...apiCreate(`Import${String(round + 1)}`),
      });
      const state = await importState();
      if (state.state !== "running") {
        progress(`  the import was ${state.state} by the end of the round: round left out`);
        break;
      }
      during.push(result);
      processed.push(state.counts.processed - startedAt);
    }
    const state = await importState();
    if (state.state === "running") await client.imports.cancel.mutate({ id: importId });
    log("## `contacts.create` during an import into the same tenant");
    log();
    if (during.length === 0) {
      log(
        `**No round ran wholly inside the import** (${IMPORT_RECORDS.toLocaleString("en-US")} records): raise BENCH_CREATE_IMPORT_RECORDS.`,
      );
    } else {
      const s = summarize(during);
      table([rowOf("`contacts.create` during the import", "API", s)]);
      const importRate = median(processed) / ROUND_SECONDS;
      log(
        `The import (${IMPORT_RECORDS.toLocaleString("en-US")} records, the worker in its own process) went on at about ${perSecond(importRate)} records/s during the rounds (median) and was cancelled after them. Create p99 during the import ${ms(s.p99)} ms (target under ${String(TARGET_CREATE_P99_MS)} ms: ${s.p99 < TARGET_CREATE_P99_MS ? "ok" : "**MISS**"}).`,
      );
    }
    log();
  }
  console.log(report.join("\n"));
} finally {
  worker?.kill("SIGTERM");
  await apiServer?.stop();
  await rawServer?.stop();
  await owner.end();
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
