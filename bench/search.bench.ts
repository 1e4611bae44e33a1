/**
 * Search benchmark at a million contacts, every party in its own process:
 *
 *  - the API: apps/api/dist as `npm start` runs it (`startApiProcess`), called over HTTP;
 *  - the baseline: `baseline-server.ts` (`startBaselineProcess`), a minimal Hono + `pg` handler that
 *    sends exactly the SQL the API sends (the API's own planner, `planContactSearch`, and list SQL);
 *  - the throughput runs' load generator: autocannon (`load.ts`, `runLoad`), 16 connections.
 *
 * Parts: (a) every filter and sort of `contacts.search`, sequential calls (latency at concurrency 1,
 * driven from this process, which does nothing else meanwhile; each call is a plain HTTP GET timed
 * until its body is read, the same client code for both sides); (b) `contacts.get`, a
 * `contacts.list` page and a common `contacts.search` at concurrency 16; (c) the EXPLAIN (ANALYZE,
 * BUFFERS) of each filter's SQL with the indexes it uses. In (a) and (b) the sides alternate (API,
 * baseline, API, baseline, ...) over BENCH_SEARCH_ROUNDS rounds after a warm-up of each; figures are
 * medians over the rounds.
 *
 * Both servers connect as the application role (row-level security applies) and run each call in a
 * transaction that first sets the tenant. Output is Markdown, ready for BENCHMARKS.md. Run:
 * `npm run bench:search -w @contacts/bench` (builds the API first). BENCH_SEARCH_CONTACTS (default
 * 1,000,000), BENCH_SEARCH_CALLS (200 per filter, side and round), BENCH_SEARCH_ROUNDS (3) and
 * BENCH_SEARCH_THROUGHPUT_SECONDS (10 per throughput round) scale it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import pg from "pg";
import {
  collectRareMatches,
  filterFrequencyQuery,
  freeTextQuery,
  freeTextTerms,
  freeTextWords,
  searchQuery,
  toPgPlaceholders,
} from "@contacts/api/contacts/contact-queries";
import type { FilterFrequency } from "@contacts/api/contacts/contact-queries";
import { createTenantWithKey } from "@contacts/api/tenants/tenant.service";
import type { ContactsClient } from "@contacts/client/client";
import { loadTaxIdKeyring } from "@contacts/db/crypto/keyring";
import { createOrm } from "@contacts/db/orm";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import { ContactSearchInput } from "@contacts/domain/search";

import { startApiProcess, startBaselineProcess } from "./processes.js";
import type { ChildServer, LoadSpec } from "./processes.js";
import { alternate, median, pairedRatios } from "./rounds.js";
import type { Summary } from "./rounds.js";
import { seedTenant } from "./seed.js";
import { startBenchDatabase } from "./setup.js";

const CONTACTS = Number(process.env.BENCH_SEARCH_CONTACTS ?? 1_000_000);
const CALLS = Number(process.env.BENCH_SEARCH_CALLS ?? 200);
const ROUNDS = Number(process.env.BENCH_SEARCH_ROUNDS ?? 3);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SEARCH_THROUGHPUT_SECONDS ?? 10);
const OTHER_CONTACTS = 10_000;
const CONCURRENCY = 16;
/** A round of one side of one filter stops after this long even if it has not made CALLS calls. */
const CASE_BUDGET_MS = 10_000;
const WARM_UP_BUDGET_MS = 3_000;
const TARGET_P95_MS = 25;
const TARGET_RATIO = 1.5;
/** Issue 19: API p95 minus SQL p95 at most this. */
const TARGET_DIFF_MS = 2;
const TARGET_GET_THROUGHPUT = 0.7;
const TENANT = "search";
const OTHER = "search-other";

/** A `contacts.search` input as a caller sends it. */
type SearchRaw = Parameters<ContactsClient["contacts"]["search"]["query"]>[0];

const log = (line = ""): void => console.log(line);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

// ---------------------------------------------------------------- setup

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-search-bench-"));
const { server, url, appUrl } = await startBenchDatabase();
// Every permission but unmasking tax IDs; no rate limit in the way of the benchmark.
const settings = { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: 1_000_000 } };
const permissions = ALL_PERMISSIONS.filter((p) => p !== "contacts:unmask-tax-id");
const orm = await createOrm({ url, poolMax: 1 });
const { apiKey } = await createTenantWithKey(orm.em.fork(), {
  tenant: { id: TENANT, name: TENANT, settings },
  keyName: "bench",
  permissions,
  createdBy: "bench",
});
await createTenantWithKey(orm.em.fork(), {
  tenant: { id: OTHER, name: OTHER, settings },
  keyName: "bench",
  permissions,
  createdBy: "bench",
});
await orm.close();

// The owner (a superuser) seeds and samples; the EXPLAINs run as the application role.
const owner = new pg.Pool({ connectionString: url, max: 4 });
const app = new pg.Pool({ connectionString: appUrl, max: 2 });
let apiServer: ChildServer | null = null;
let rawServer: ChildServer | null = null;
try {
  await seedTenant(owner, { tenantId: OTHER, contacts: OTHER_CONTACTS });
  const seedStarted = performance.now();
  let lastReport = 0;
  await seedTenant(owner, {
    tenantId: TENANT,
    contacts: CONTACTS,
    onProgress: (done) => {
      if (done === CONTACTS || performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        console.error(`  seeded ${done}/${CONTACTS} contacts, ${seconds(performance.now() - seedStarted)} s`);
      }
    },
  });
  const seedMs = performance.now() - seedStarted;
  const sizes = (
    await owner.query<{ table: string; size: string }>(
      `select pg_size_pretty(pg_table_size('contacts')) as table, pg_size_pretty(pg_indexes_size('contacts')) as size`,
    )
  ).rows[0];

  /**
   * A search as the API runs it, in one transaction as the application role: with free text, first
   * the dictionary words of its terms; with a place or role filter, how common it is; then the search.
   */
  async function searchInTenant<T extends pg.QueryResultRow = { id: string }>(
    tenantId: string,
    input: ContactSearchInput,
    prefix = "",
  ): Promise<T[]> {
    const c = await app.connect();
    try {
      await c.query("begin");
      await c.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
      let freeText: string[][] | null = null;
      if (input.q) {
        const terms = freeTextTerms(input.q);
        const words = freeTextQuery(tenantId, terms);
        const found = await c.query<{ term: number; word: string }>(
          toPgPlaceholders(words.sql),
          words.params,
        );
        freeText = freeTextWords(terms, found.rows);
      }
      // A rare place or role filter collects its matches (the API decides the same way).
      const frequency = filterFrequencyQuery(tenantId, input);
      const collect = frequency
        ? collectRareMatches(
            (await c.query<FilterFrequency>(toPgPlaceholders(frequency.sql), frequency.params)).rows[0],
            input,
            freeText,
          )
        : false;
      const query = searchQuery(tenantId, input, null, freeText, collect);
      const result = await c.query<T>(prefix + toPgPlaceholders(query.sql), query.params);
      await c.query("commit");
      return result.rows;
    } catch (error) {
      await c.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      c.release();
    }
  }

  // ---------------------------------------------------------------- realistic values

  interface Sample {
    id: string;
    first_name: string | null;
    last_name: string | null;
    nickname: string | null;
    job_title: string | null;
    account_id: string | null;
    account_name: string | null;
    email: string;
    city: string;
    state: string;
    country: string;
    roles: string[];
  }
  // A page-level sample (cheap at a million rows); rows are in seed order, values are hash-spread.
  const percent = Math.min(100, (400_000 / CONTACTS) * 2);
  const samples = (
    await owner.query<Sample>(
      `select c.id, c.first_name, c.last_name, c.nickname, c.job_title, c.account_id, a.name as account_name,
       c.emails->0->>'address' as email, c.addresses->0->>'city' as city, c.addresses->0->>'state' as state,
       c.addresses->0->>'country' as country, c.roles
     from contacts c tablesample system ($2) repeatable (42)
     left join accounts a on a.tenant_id = c.tenant_id and a.id = c.account_id
     where c.tenant_id = $1`,
      [TENANT, percent],
    )
  ).rows;
  if (samples.length < 500) throw new Error(`only ${samples.length} sample rows`);
  const persons = samples.filter((s) => s.first_name && s.last_name);
  const pick = <T>(list: readonly T[], i: number): T => {
    const value = list[(i * 7919) % list.length];
    if (value === undefined) throw new Error("empty sample list");
    return value;
  };
  const withValue = <K extends keyof Sample>(key: K) =>
    samples.filter((s) => s[key] !== null) as (Sample & Record<K, NonNullable<Sample[K]>>)[];
  const nicknames = withValue("nickname");
  const titles = withValue("job_title");
  const withAccount = withValue("account_id").filter((s) => s.account_name !== null);
  const prefix = (value: string, i: number, min = 3): string => value.toLowerCase().slice(0, min + (i % 3));
  /** A one-typo variant: the last two letters swapped (john -> jonh). */
  const typo = (word: string): string => {
    const w = word.toLowerCase();
    return w.slice(0, -2) + w.slice(-1) + w.slice(-2, -1);
  };
  const longNames = persons
    .flatMap((s) => [s.first_name ?? "", s.last_name ?? ""])
    .filter((n) => n.length >= 5);
  const longLastNames = persons.filter((s) => (s.last_name ?? "").length >= 4);
  const STATUSES: SearchRaw["status"][] = [
    ["inactive"],
    ["duplicate", "deceased"],
    ["active"],
    ["inactive", "duplicate"],
  ];
  const ROLES = ["PRIMARY", "BILLING", "TECHNICAL", "ADMINISTRATIVE"];

  const cases: { name: string; input: (i: number) => SearchRaw }[] = [
    {
      name: "ids (10)",
      input: (i) => ({ ids: Array.from({ length: 10 }, (_, k) => pick(samples, i * 10 + k).id) }),
    },
    { name: "status", input: (i) => ({ status: STATUSES[i % STATUSES.length] }) },
    { name: "firstName prefix", input: (i) => ({ firstName: prefix(pick(persons, i).first_name ?? "", i) }) },
    { name: "lastName prefix", input: (i) => ({ lastName: prefix(pick(persons, i).last_name ?? "", i) }) },
    { name: "role", input: (i) => ({ role: ROLES[i % ROLES.length] }) },
    { name: "emailAddress", input: (i) => ({ emailAddress: pick(samples, i).email }) },
    {
      name: "accountName prefix",
      input: (i) => ({
        accountName: prefix((pick(withAccount, i).account_name ?? "").split(" ")[0] ?? "", i),
      }),
    },
    { name: "nickname prefix", input: (i) => ({ nickname: prefix(pick(nicknames, i).nickname, 0) }) },
    {
      name: "numbers (10)",
      input: (i) => ({
        numbers: Array.from({ length: 10 }, (_, k) => 1 + ((i * 7919 + k * 104_729) % CONTACTS)),
      }),
    },
    {
      name: "accountIds (3)",
      input: (i) => ({ accountIds: [0, 1, 2].map((k) => pick(withAccount, i * 3 + k).account_id) }),
    },
    { name: "jobTitle prefix", input: (i) => ({ jobTitle: prefix(pick(titles, i).job_title, i, 4) }) },
    { name: "city", input: (i) => ({ city: pick(samples, i).city }) },
    { name: "state", input: (i) => ({ state: pick(samples, i).state }) },
    { name: "country", input: (i) => ({ country: pick(samples, i).country }) },
    { name: "q prefix", input: (i) => ({ q: pick(longNames, i).toLowerCase().slice(0, 5) }) },
    { name: "q one typo", input: (i) => ({ q: typo(pick(longNames, i)) }) },
    {
      name: "q first and last name",
      input: (i) => {
        const s = pick(persons, i);
        return { q: `${s.first_name ?? ""} ${s.last_name ?? ""}` };
      },
    },
    {
      name: "q prefix + country",
      input: (i) => {
        const s = pick(longLastNames, i);
        return { q: (s.last_name ?? "").toLowerCase().slice(0, 4), country: s.country };
      },
    },
    {
      name: "lastName+country+status",
      input: (i) => {
        const s = pick(persons, i);
        return { lastName: prefix(s.last_name ?? "", 0), country: s.country, status: ["active"] };
      },
    },
    {
      name: "firstName+city+role",
      input: (i) => {
        const s = pick(persons, i);
        return { firstName: prefix(s.first_name ?? "", 0), city: s.city, role: s.roles[0] ?? "PRIMARY" };
      },
    },
    ...(["lastName", "firstName", "createdAt", "updatedAt"] as const).flatMap((field) =>
      (["asc", "desc"] as const).map((direction) => ({
        name: `sort ${field} ${direction}`,
        input: (): SearchRaw => ({ sort: { field, direction } }),
      })),
    ),
  ];

  // ---------------------------------------------------------------- the servers

  // The development keyring, created once before the API reads it.
  loadTaxIdKeyring({ env: {}, dataDir });
  apiServer = await startApiProcess({ url, dataDir });
  // As the application role, as the API connects (row-level security applies).
  rawServer = await startBaselineProcess(appUrl, TENANT);
  const apiUrl = apiServer.url;
  const rawUrl = rawServer.url;
  const apiHeaders = { authorization: `Bearer ${apiKey.key}` };
  const trpcGet = (procedure: string, input: unknown): string =>
    `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;
  const apiSearchPath = (input: SearchRaw): string => trpcGet("contacts.search", { ...input, limit: 50 });
  const rawSearchPath = (input: SearchRaw): string =>
    `/in-tenant/search?input=${encodeURIComponent(JSON.stringify({ ...input, limit: 50 }))}`;

  // ---------------------------------------------------------------- measuring

  interface Latency {
    p50: number;
    p95: number;
    calls: number;
  }

  const quantile = (sorted: number[], q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

  /**
   * One GET, timed from the request until its body is read (the same code for both sides); a status
   * other than 200 fails the benchmark. Returns the time and the body, parsed after the clock stops.
   */
  async function timedGet(
    base: string,
    pathAndQuery: string,
    headers: Record<string, string>,
  ): Promise<{ ms: number; body: unknown }> {
    const started = performance.now();
    const response = await fetch(base + pathAndQuery, { headers });
    const text = await response.text();
    const took = performance.now() - started;
    if (response.status !== 200)
      throw new Error(
        `${base}${pathAndQuery.slice(0, 200)}: ${String(response.status)} ${text.slice(0, 500)}`,
      );
    return { ms: took, body: JSON.parse(text) as unknown };
  }

  /**
   * One round of sequential calls (latency, not throughput) of `call(0..CALLS-1)`; it stops early
   * past its time budget, so a filter that takes seconds does not hold the run for minutes.
   */
  async function latencyRound(call: (i: number) => Promise<number>): Promise<Latency> {
    const times: number[] = [];
    const started = performance.now();
    for (let i = 0; i < CALLS && performance.now() - started < CASE_BUDGET_MS; i++) times.push(await call(i));
    times.sort((a, b) => a - b);
    return { p50: quantile(times, 0.5), p95: quantile(times, 0.95), calls: times.length };
  }

  /**
   * A few warm-up calls of each side, then ROUNDS rounds, API and baseline in turn; the medians of
   * the rounds' p50 and p95, and the calls of all rounds.
   */
  async function alternateLatency(
    api: (i: number) => Promise<number>,
    raw: (i: number) => Promise<number>,
  ): Promise<{ api: Latency; raw: Latency }> {
    for (const call of [api, raw]) {
      const warmStarted = performance.now();
      for (let i = 0; i < 5 && performance.now() - warmStarted < WARM_UP_BUDGET_MS; i++)
        await call(CALLS + i);
    }
    const apiRounds: Latency[] = [];
    const rawRounds: Latency[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      apiRounds.push(await latencyRound(api));
      rawRounds.push(await latencyRound(raw));
    }
    const summary = (rounds: Latency[]): Latency => ({
      p50: median(rounds.map((r) => r.p50)),
      p95: median(rounds.map((r) => r.p95)),
      calls: rounds.reduce((n, r) => n + r.calls, 0),
    });
    return { api: summary(apiRounds), raw: summary(rawRounds) };
  }

  // ---------------------------------------------------------------- a. filters and sorts

  const ms = (n: number): string => n.toFixed(1);
  const rows: string[] = [];
  const misses: string[] = [];
  const counts = { p95: 0, ratio: 0, diff: 0 };
  const plans: {
    name: string;
    indexes: string[];
    seqScan: boolean;
    /** Whether an index condition holds more than the tenant (the filter itself narrows the scan). */
    served: boolean;
    removed: number;
    executionMs: string;
    lines: string[];
    input: SearchRaw;
  }[] = [];
  let totalItems = 0;

  log(
    `# Search benchmark: ${CONTACTS} contacts (+ ${OTHER_CONTACTS} in another tenant), ${os.cpus().length} cores`,
  );
  log();
  log(
    `Seeded ${CONTACTS} contacts in ${seconds(seedMs)} s (table ${sizes?.table ?? "?"}, indexes ${sizes?.size ?? "?"}).`,
  );
  log();
  log(
    "Every party in its own process: the API (apps/api/dist, as `npm start` runs it), the baseline " +
      "(`bench/baseline-server.ts`: Hono + `pg`, the same SQL from the API's own planner, as the application " +
      "role in a transaction that sets the tenant) and, for the throughput runs, the load generator (autocannon).",
  );
  log();
  console.error("filters and sorts...");

  type SearchPage = { items: { id?: string }[] };
  const apiItems = (body: unknown): SearchPage["items"] =>
    (body as { result: { data: SearchPage } }).result.data.items;
  const rawItems = (body: unknown): SearchPage["items"] => (body as SearchPage).items;

  for (const c of cases) {
    const inputFor = (i: number): ContactSearchInput =>
      ContactSearchInput.parse({ ...c.input(i), limit: 50 });
    let items = 0;
    let apiCalls = 0;
    const sides = await alternateLatency(
      async (i) => {
        const { ms: took, body } = await timedGet(apiUrl, apiSearchPath(c.input(i)), apiHeaders);
        items += apiItems(body).length;
        apiCalls++;
        return took;
      },
      async (i) => (await timedGet(rawUrl, rawSearchPath(c.input(i)), {})).ms,
    );
    const apiSide = sides.api;
    const sqlSide = sides.raw;
    // The same first page both ways.
    const check = apiItems((await timedGet(apiUrl, apiSearchPath(c.input(0)), apiHeaders)).body);
    const checkSql = rawItems((await timedGet(rawUrl, rawSearchPath(c.input(0)), {})).body);
    const same = check.length === checkSql.length && check.every((item, k) => item.id === checkSql[k]?.id);
    const ratio = apiSide.p95 / Math.max(sqlSide.p95, 0.001);
    const diff = apiSide.p95 - sqlSide.p95;
    if (apiSide.p95 <= TARGET_P95_MS) counts.p95++;
    if (ratio <= TARGET_RATIO) counts.ratio++;
    if (diff <= TARGET_DIFF_MS) counts.diff++;
    const flags = [
      apiSide.p95 > TARGET_P95_MS ? `p95 > ${TARGET_P95_MS} ms` : "",
      ratio > TARGET_RATIO ? `ratio > ${TARGET_RATIO}x` : "",
      same ? "" : "API and SQL pages differ",
    ].filter(Boolean);
    if (flags.length) misses.push(`${c.name}: ${flags.join(", ")}`);
    totalItems += items;
    rows.push(
      `| ${c.name} | ${ms(apiSide.p50)} / ${ms(apiSide.p95)} | ${ms(sqlSide.p50)} / ${ms(sqlSide.p95)} | ${ratio.toFixed(2)}x | ${diff >= 0 ? "+" : ""}${ms(diff)} | ${(items / Math.max(apiCalls, 1)).toFixed(1)} | ${apiSide.calls} | ${flags.length ? `**MISS** (${flags.join(", ")})` : "ok"} |`,
    );
    console.error(`  ${rows.at(-1) ?? ""}`);

    // c. the plan of the first input, as the application role with the tenant set
    const explained = await searchInTenant<{ "QUERY PLAN": string }>(
      TENANT,
      inputFor(0),
      "explain (analyze, buffers, format text) ",
    );
    const lines = explained.map((r) => r["QUERY PLAN"]);
    const indexes = [
      ...new Set(
        lines.flatMap((l) =>
          [
            ...l.matchAll(
              /(?:Index Scan(?: Backward)?|Index Only Scan(?: Backward)?) using (\S+)|Bitmap Index Scan on (\S+)/g,
            ),
          ].map((m) => m[1] ?? m[2] ?? ""),
        ),
      ),
    ];
    const seqScan = lines.some((l) => /Seq Scan on contacts/.test(l));
    const served = lines.some((l) => {
      const cond = /(?:Index Cond|Recheck Cond): (.*)$/.exec(l)?.[1];
      return cond !== undefined && !/^\(tenant_id = '[^']*'::text\)$/.test(cond);
    });
    const removed = lines
      .map((l) => Number(/Rows Removed by (?:Filter|Index Recheck): (\d+)/.exec(l)?.[1] ?? 0))
      .reduce((a, b) => a + b, 0);
    const executionMs = /Execution Time: ([\d.]+) ms/.exec(lines.join("\n"))?.[1] ?? "?";
    plans.push({
      name: c.name,
      indexes,
      seqScan,
      served,
      removed,
      executionMs,
      lines,
      input: c.input(0),
    });
  }

  log(
    `## Filters and sorts (limit 50, sequential calls, ${CALLS} per side and round, ${ROUNDS} alternating rounds)`,
  );
  log();
  log(
    `Each call is one HTTP GET timed until its body is read, the same client code for both sides: ` +
      `\`contacts.search\` on the API, and the baseline's \`/in-tenant/search\` (the same input, the same ` +
      `SQL from the API's planner, in as many round trips). Figures are medians over the rounds.`,
  );
  log();
  log(
    `Targets: API p95 <= ${TARGET_P95_MS} ms and API/SQL p95 ratio <= ${TARGET_RATIO}x (issue 19: API p95 minus SQL p95 <= ${TARGET_DIFF_MS} ms).`,
  );
  log();
  log(
    "| filter | API p50 / p95 ms | SQL p50 / p95 ms | p95 ratio | p95 diff ms | items/page | calls | target |",
  );
  log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) log(r);
  log();
  log(
    `API p95 <= ${TARGET_P95_MS} ms: **${counts.p95} of ${cases.length}**; within ${TARGET_RATIO}x of the SQL's p95: ` +
      `**${counts.ratio} of ${cases.length}**; API p95 minus SQL p95 <= ${TARGET_DIFF_MS} ms: **${counts.diff} of ${cases.length}**.`,
  );
  log();

  // ---------------------------------------------------------------- b. throughput

  console.error("throughput...");
  const ids = samples.map((s) => s.id);
  const listAccounts = (
    await owner.query<{ account_id: string; n: string }>(
      `select account_id, count(*) as n from contacts where tenant_id = $1 and account_id is not null
     group by account_id order by count(*) desc limit 10`,
      [TENANT],
    )
  ).rows;
  /** The common filter of the search throughput run. */
  const COMMON_SEARCH = "lastName prefix";
  const commonSearch = cases.find((c) => c.name === COMMON_SEARCH);
  if (!commonSearch) throw new Error(`no case ${COMMON_SEARCH}`);
  const searchInputs = Array.from({ length: CALLS }, (_, i) => commonSearch.input(i));

  /** GETs of `paths` taken in turn at concurrency 16, by the load generator in its own process. */
  const getSpec = (base: string, headers: Record<string, string>, paths: string[]) => (): LoadSpec => ({
    url: base,
    method: "GET",
    headers,
    connections: CONCURRENCY,
    seconds: THROUGHPUT_SECONDS,
    paths,
  });
  const get = await alternate(
    "contacts.get",
    ROUNDS,
    getSpec(
      apiUrl,
      apiHeaders,
      ids.map((id) => trpcGet("contacts.get", { id })),
    ),
    getSpec(
      rawUrl,
      {},
      ids.map((id) => `/in-tenant/contacts/${id}`),
    ),
  );
  const list = await alternate(
    "contacts.list",
    ROUNDS,
    getSpec(
      apiUrl,
      apiHeaders,
      listAccounts.map((a) => trpcGet("contacts.list", { accountId: a.account_id, limit: 50 })),
    ),
    getSpec(
      rawUrl,
      {},
      listAccounts.map((a) => `/in-tenant/accounts/${a.account_id}/contacts`),
    ),
  );
  const search = await alternate(
    "contacts.search",
    ROUNDS,
    getSpec(apiUrl, apiHeaders, searchInputs.map(apiSearchPath)),
    getSpec(rawUrl, {}, searchInputs.map(rawSearchPath)),
  );

  const throughputRow = (name: string, sides: { api: Summary; raw: Summary }, target?: number): string => {
    const { api: a, raw: b } = sides;
    const ratio = a.perSecond / b.perSecond;
    const verdict = target === undefined ? "-" : ratio >= target ? "ok" : `**MISS** (< ${target}x)`;
    if (target !== undefined && ratio < target)
      misses.push(`${name}: throughput ratio ${ratio.toFixed(2)}x < ${target}x`);
    return `| ${name} | ${ms(a.p50)} / ${ms(a.p95)} ms | ${a.perSecond.toFixed(0)}/s | ${ms(b.p50)} / ${ms(b.p95)} ms | ${b.perSecond.toFixed(0)}/s | ${ratio.toFixed(2)}x | ${pairedRatios(sides)} | ${verdict} |`;
  };
  log(
    `## Throughput (concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds of ${THROUGHPUT_SECONDS} s a side, autocannon in its own process)`,
  );
  log();
  log(
    `Baseline: the minimal Hono + pg handler in its own process, as the application role in a transaction that sets the tenant. ` +
      `List: 50-row first page of the ${listAccounts.length} accounts with most contacts ` +
      `(${listAccounts.at(-1)?.n ?? "?"}-${listAccounts[0]?.n ?? "?"} contacts each). ` +
      `Search: the ${CALLS} inputs of "${COMMON_SEARCH}" in turn, limit 50. Medians over the rounds.`,
  );
  log();
  log(
    "| operation | API p50 / p95 | API throughput | raw p50 / p95 | raw throughput | ratio | per round | target |",
  );
  log("|---|---|---|---|---|---|---|---|");
  log(throughputRow("`contacts.get`", get, TARGET_GET_THROUGHPUT));
  log(throughputRow("`contacts.list` (50 rows)", list));
  log(throughputRow(`\`contacts.search\` (${COMMON_SEARCH})`, search));
  log();

  // ---------------------------------------------------------------- c. plans

  log("## Indexes used (EXPLAIN ANALYZE of the first input of each filter)");
  log();
  log(
    "The filter is served by an index when an index condition holds more than the tenant; otherwise the plan " +
      "walks a sort index (or the table) and filters row by row (rows removed by filter).",
  );
  log();
  log(
    "| filter | indexes | filter in an index condition | rows removed by filter | seq scan | execution ms |",
  );
  log("|---|---|---|---|---|---|");
  for (const p of plans) {
    const isSort = p.name.startsWith("sort ");
    // Walking the sort index past a few hundred rows is fine; past thousands it is not.
    if (!isSort && !p.served && p.removed > 1_000)
      misses.push(`${p.name}: no index serves the filter (${p.removed} rows removed by filter)`);
    const served = isSort ? "n/a (sort only)" : p.served ? "yes" : "**no**";
    log(
      `| ${p.name} | ${p.indexes.map((i) => `\`${i}\``).join(", ") || "**none**"} | ${served} | ${p.removed} | ${p.seqScan ? "**yes**" : "no"} | ${p.executionMs} |`,
    );
  }
  log();
  log("### Plans");
  for (const p of plans) {
    log();
    log(`#### ${p.name}`);
    log();
    log("```");
    log(`-- input: ${JSON.stringify(p.input).slice(0, 300)}`);
    for (const l of p.lines.slice(0, 30)) log(l);
    if (p.lines.length > 30) log(`... (${p.lines.length - 30} more lines)`);
    log("```");
  }
  log();
  log("## Misses");
  log();
  if (misses.length === 0) log("None: every filter met its targets and used an index.");
  for (const m of misses) log(`- ${m}`);
  console.error(`done (${totalItems} items read through the API)`);
} finally {
  await apiServer?.stop();
  await rawServer?.stop();
  await app.end();
  await owner.end();
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
