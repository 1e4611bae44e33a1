/**
 * Search benchmark at a million contacts: every filter and sort of `contacts.search` through the
 * typed client, against exactly the same SQL sent straight through `pg`; `contacts.get` and a
 * `contacts.list` page at concurrency 16 against a minimal Hono + `pg` handler; and the EXPLAIN
 * (ANALYZE, BUFFERS) of each filter's SQL with the indexes it uses.
 *
 * Both sides connect as the application role (row-level security applies) and run each query in a
 * transaction that first sets the tenant, as the API does. Output is Markdown, ready for
 * BENCHMARKS.md. Run: `npm run bench:search -w @contacts/bench`.
 * BENCH_SEARCH_CONTACTS (default 1,000,000), BENCH_SEARCH_CALLS (200 per filter and side),
 * BENCH_SEARCH_THROUGHPUT_SECONDS (10 per throughput run) scale it. The throughput runs' load
 * generator is autocannon in its own process (`runLoad`), never in the servers' event loop.
 */
import os from "node:os";
import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import pg from "pg";
import {
  collectRareMatches,
  filterFrequencyQuery,
  freeTextQuery,
  freeTextTerms,
  freeTextWords,
  listQuery,
  searchQuery,
  toPgPlaceholders,
} from "@contacts/api/contacts/contact-queries";
import type { FilterFrequency, SqlQuery } from "@contacts/api/contacts/contact-queries";
import { startBenchEnvironment } from "./setup.js";
import { createTenantWithKey } from "@contacts/api/tenants/tenant.service";
import { createContactsClient } from "@contacts/client/client";
import type { ContactsClient } from "@contacts/client/client";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import { ContactListInput, ContactSearchInput } from "@contacts/domain/search";

import { runLoad } from "./processes.js";
import { seedTenant } from "./seed.js";

const CONTACTS = Number(process.env.BENCH_SEARCH_CONTACTS ?? 1_000_000);
const CALLS = Number(process.env.BENCH_SEARCH_CALLS ?? 200);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SEARCH_THROUGHPUT_SECONDS ?? 10);
const OTHER_CONTACTS = 10_000;
const CONCURRENCY = 16;
/** A side of one filter stops after this long even if it has not made CALLS calls. */
const CASE_BUDGET_MS = 10_000;
const WARM_UP_BUDGET_MS = 3_000;
const TARGET_P95_MS = 25;
const TARGET_RATIO = 1.5;
const TARGET_GET_THROUGHPUT = 0.7;
const TENANT = "search";
const OTHER = "search-other";

/** A `contacts.search` input as a caller sends it. */
type SearchRaw = Parameters<ContactsClient["contacts"]["search"]["query"]>[0];

const log = (line = ""): void => console.log(line);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

// ---------------------------------------------------------------- setup

const { server, url, appUrl, api } = await startBenchEnvironment();
// Every permission but unmasking tax IDs; no rate limit in the way of the benchmark.
const settings = { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: 1_000_000 } };
const permissions = ALL_PERMISSIONS.filter((p) => p !== "contacts:unmask-tax-id");
const { apiKey } = await createTenantWithKey(api.orm.em.fork(), {
  tenant: { id: TENANT, name: TENANT, settings },
  keyName: "bench",
  permissions,
  createdBy: "bench",
});
await createTenantWithKey(api.orm.em.fork(), {
  tenant: { id: OTHER, name: OTHER, settings },
  keyName: "bench",
  permissions,
  createdBy: "bench",
});
const client = createContactsClient({ url: api.url, apiKey: apiKey.key });

// The owner (a superuser) seeds and samples; the baselines run as the application role.
const owner = new pg.Pool({ connectionString: url, max: 4 });
const app = new pg.Pool({ connectionString: appUrl, max: 20 });

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

/** One query as the application role, in a transaction bound to the tenant (what the API does). */
async function inTenant<T extends pg.QueryResultRow>(tenantId: string, query: SqlQuery): Promise<T[]> {
  const c = await app.connect();
  try {
    await c.query("begin");
    await c.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
    const result = await c.query<T>(toPgPlaceholders(query.sql), query.params);
    await c.query("commit");
    return result.rows;
  } catch (error) {
    await c.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    c.release();
  }
}

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
      const found = await c.query<{ term: number; word: string }>(toPgPlaceholders(words.sql), words.params);
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
    input: (i) => ({ accountName: prefix((pick(withAccount, i).account_name ?? "").split(" ")[0] ?? "", i) }),
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

// ---------------------------------------------------------------- measuring

interface Latency {
  p50: number;
  p95: number;
  calls: number;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/**
 * Sequential calls (latency, not throughput): a few warm-up calls, then up to CALLS; each part stops
 * early past its time budget, so a filter that takes seconds does not hold the run for minutes.
 */
async function latency(call: (i: number) => Promise<unknown>): Promise<Latency> {
  const warmStarted = performance.now();
  for (let i = 0; i < 5 && performance.now() - warmStarted < WARM_UP_BUDGET_MS; i++) await call(CALLS + i);
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < CALLS && performance.now() - started < CASE_BUDGET_MS; i++) {
    const t = performance.now();
    await call(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p95: quantile(times, 0.95), calls: times.length };
}

interface Throughput {
  p50: number;
  p95: number;
  perSecond: number;
}

/**
 * Concurrency 16 (as the CRUD benchmark): throughput of GETs of `paths` taken in turn, measured by
 * the load generator in its own process after a 3 s warm-up. Any non-2xx response fails the run.
 */
async function throughput(
  base: string,
  headers: Record<string, string>,
  paths: string[],
): Promise<Throughput> {
  const spec = { url: base, method: "GET" as const, headers, connections: CONCURRENCY, paths };
  await runLoad({ ...spec, seconds: 3 });
  const result = await runLoad({ ...spec, seconds: THROUGHPUT_SECONDS });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(
      `${base}: ${result.non2xx} non-2xx ${JSON.stringify(result.statuses)}, ${result.errors} errors`,
    );
  return result;
}

// ---------------------------------------------------------------- a. filters and sorts

const ms = (n: number): string => n.toFixed(1);
const rows: string[] = [];
const misses: string[] = [];
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
console.error("filters and sorts...");

for (const c of cases) {
  const inputFor = (i: number): ContactSearchInput => ContactSearchInput.parse(c.input(i));
  let items = 0;
  let apiCalls = 0;
  const apiSide = await latency(async (i) => {
    const page = await client.contacts.search.query({ ...c.input(i), limit: 50 });
    items += page.items.length;
    apiCalls++;
  });
  const sqlSide = await latency((i) => searchInTenant(TENANT, inputFor(i)));
  // The same first page both ways (the SQL fetches one row more to know whether there is a next page).
  const check = await client.contacts.search.query({ ...c.input(0), limit: 50 });
  const checkSql = await searchInTenant(TENANT, inputFor(0));
  const same = check.items.every((item, k) => (item as { id?: string }).id === checkSql[k]?.id);
  const ratio = apiSide.p95 / Math.max(sqlSide.p95, 0.001);
  const flags = [
    apiSide.p95 > TARGET_P95_MS ? `p95 > ${TARGET_P95_MS} ms` : "",
    ratio > TARGET_RATIO ? `ratio > ${TARGET_RATIO}x` : "",
    same ? "" : "API and SQL pages differ",
  ].filter(Boolean);
  if (flags.length) misses.push(`${c.name}: ${flags.join(", ")}`);
  totalItems += items;
  rows.push(
    `| ${c.name} | ${ms(apiSide.p50)} / ${ms(apiSide.p95)} | ${ms(sqlSide.p50)} / ${ms(sqlSide.p95)} | ${ratio.toFixed(2)}x | ${(items / Math.max(apiCalls, 1)).toFixed(1)} | ${apiSide.calls} | ${flags.length ? `**MISS** (${flags.join(", ")})` : "ok"} |`,
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

log(`## Filters and sorts (limit 50, sequential calls, ${CALLS} per side)`);
log();
log(`Targets: API p95 <= ${TARGET_P95_MS} ms and API/SQL p95 ratio <= ${TARGET_RATIO}x.`);
log();
log("| filter | API p50 / p95 ms | SQL p50 / p95 ms | p95 ratio | items/page | calls | target |");
log("|---|---|---|---|---|---|---|");
for (const r of rows) log(r);
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

const raw = new Hono();
raw.get("/contacts/:id", async (c) => {
  const found = await inTenant(TENANT, {
    sql: "select * from contacts where tenant_id = ? and id = ?",
    params: [TENANT, c.req.param("id")],
  });
  return found[0] ? c.json(found[0]) : c.json({ error: "not found" }, 404);
});
raw.get("/accounts/:id/contacts", async (c) => {
  const found = await inTenant(
    TENANT,
    listQuery(TENANT, ContactListInput.parse({ accountId: c.req.param("id"), limit: 50 })),
  );
  return c.json({ items: found.slice(0, 50), more: found.length > 50 });
});
const rawServer = serve({ fetch: raw.fetch, hostname: "127.0.0.1", port: 0 });
await new Promise((r) => rawServer.once("listening", r));
const rawUrl = `http://127.0.0.1:${(rawServer.address() as AddressInfo).port}`;

const trpcGet = (procedure: string, input: unknown): string =>
  `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;
const apiHeaders = { authorization: `Bearer ${apiKey.key}` };
const getApi = await throughput(
  api.url,
  apiHeaders,
  ids.map((id) => trpcGet("contacts.get", { id })),
);
const getRaw = await throughput(
  rawUrl,
  {},
  ids.map((id) => `/contacts/${id}`),
);
const listApi = await throughput(
  api.url,
  apiHeaders,
  listAccounts.map((a) => trpcGet("contacts.list", { accountId: a.account_id, limit: 50 })),
);
const listRaw = await throughput(
  rawUrl,
  {},
  listAccounts.map((a) => `/accounts/${a.account_id}/contacts`),
);

const throughputRow = (name: string, a: Throughput, b: Throughput, target?: number): string => {
  const ratio = a.perSecond / b.perSecond;
  const verdict = target === undefined ? "-" : ratio >= target ? "ok" : `**MISS** (< ${target}x)`;
  if (target !== undefined && ratio < target)
    misses.push(`${name}: throughput ratio ${ratio.toFixed(2)}x < ${target}x`);
  return `| ${name} | ${ms(a.p50)} / ${ms(a.p95)} ms | ${a.perSecond.toFixed(0)}/s | ${ms(b.p50)} / ${ms(b.p95)} ms | ${b.perSecond.toFixed(0)}/s | ${ratio.toFixed(2)}x | ${verdict} |`;
};
log(
  `## Throughput (concurrency ${CONCURRENCY}, ${THROUGHPUT_SECONDS} s a run, autocannon in its own process)`,
);
log();
log(
  `Baseline: a minimal Hono + pg handler, as the application role in a transaction that sets the tenant. ` +
    `List: 50-row first page of the ${listAccounts.length} accounts with most contacts ` +
    `(${listAccounts.at(-1)?.n ?? "?"}-${listAccounts[0]?.n ?? "?"} contacts each).`,
);
log();
log("| operation | API p50 / p95 | API throughput | raw p50 / p95 | raw throughput | ratio | target |");
log("|---|---|---|---|---|---|---|");
log(throughputRow("`contacts.get`", getApi, getRaw, TARGET_GET_THROUGHPUT));
log(throughputRow("`contacts.list` (50 rows)", listApi, listRaw));
log();

// ---------------------------------------------------------------- c. plans

log("## Indexes used (EXPLAIN ANALYZE of the first input of each filter)");
log();
log(
  "The filter is served by an index when an index condition holds more than the tenant; otherwise the plan " +
    "walks a sort index (or the table) and filters row by row (rows removed by filter).",
);
log();
log("| filter | indexes | filter in an index condition | rows removed by filter | seq scan | execution ms |");
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

rawServer.close();
await app.end();
await owner.end();
await api.close();
await server.stop();
