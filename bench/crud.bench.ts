/**
 * CRUD benchmark: the API (typed client over real HTTP) against a raw baseline in the same run.
 *
 *  - contacts.get: API vs a minimal Hono + pg handler running the same primary-key SELECT.
 *  - contacts.create: API vs the same INSERT sent straight through pg.
 *
 * Prints p50/p95 latency, throughput at a fixed concurrency, and the API/baseline ratio.
 * Run: npm run bench (or `npm run bench -w @contacts/bench`). BENCH_CONTACTS / BENCH_REQUESTS scale it.
 */
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import pg from "pg";
import { startBenchEnvironment } from "./setup.js";
import { createTenantWithKey } from "@contacts/api/tenants/tenant.service";
import { createContactsClient } from "@contacts/client/client";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 20_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4_000);
const CONCURRENCY = 16;

interface Result {
  p50: number;
  p95: number;
  perSecond: number;
}

async function measure(total: number, call: (i: number) => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < 200; i++) await call(i); // warm-up
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        await call(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), perSecond: total / seconds };
}

function row(name: string, api: Result, raw: Result): string {
  const f = (n: number) => n.toFixed(2).padStart(7);
  return `${name.padEnd(16)} API p50 ${f(api.p50)} ms p95 ${f(api.p95)} ms ${api.perSecond.toFixed(0).padStart(6)}/s | raw p50 ${f(raw.p50)} ms p95 ${f(raw.p95)} ms ${raw.perSecond.toFixed(0).padStart(6)}/s | throughput ratio ${(api.perSecond / raw.perSecond).toFixed(2)}x`;
}

const { server, url, api } = await startBenchEnvironment();
const { apiKey } = await createTenantWithKey(api.orm.em.fork(), {
  tenant: { id: "bench", name: "bench" },
  keyName: "bench",
  permissions: ALL_PERMISSIONS,
  createdBy: "bench",
});
const client = createContactsClient({ url: api.url, apiKey: apiKey.key });

const pool = new pg.Pool({ connectionString: url, max: 20 });
await pool.query(
  `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, emails, phones, addresses, status, social,
     notification_preferences, created_at, created_by, updated_at, updated_by)
   select 'bench', gen_random_uuid(), n, 'person', 'First' || n, 'Last' || n,
     jsonb_build_array(jsonb_build_object('address', 'p' || n || '@example.com', 'label', 'work', 'primary', true)),
     '[]', '[]', 'active', '{}', '{}', now(), 'bench', now(), 'bench'
   from generate_series(1, $1::int) n`,
  [CONTACTS],
);
await pool.query("update tenants set contact_seq = $1 where id = 'bench'", [CONTACTS]);
await pool.query("analyze contacts");
const ids = (await pool.query<{ id: string }>("select id from contacts where tenant_id = 'bench'")).rows.map(
  (r) => r.id,
);

// The raw baseline: the same lookup with no auth, validation, ORM or tRPC.
const raw = new Hono();
raw.get("/contacts/:id", async (c) => {
  const result = await pool.query("select * from contacts where tenant_id = $1 and id = $2", [
    "bench",
    c.req.param("id"),
  ]);
  return result.rows[0] ? c.json(result.rows[0]) : c.json({ error: "not found" }, 404);
});
const rawServer = serve({ fetch: raw.fetch, hostname: "127.0.0.1", port: 0 });
await new Promise((r) => rawServer.once("listening", r));
const rawUrl = `http://127.0.0.1:${(rawServer.address() as AddressInfo).port}`;

const pick = (i: number) => ids[(i * 7919) % ids.length] ?? "";
const getApi = await measure(REQUESTS, (i) => client.contacts.get.query({ id: pick(i) }));
const getRaw = await measure(REQUESTS, (i) => fetch(`${rawUrl}/contacts/${pick(i)}`).then((r) => r.json()));

let seq = CONTACTS + 1_000_000;
const createApi = await measure(REQUESTS / 2, (i) =>
  client.contacts.create.mutate({
    contact: {
      subtype: "person",
      firstName: "Bench",
      lastName: `Api${i}`,
      emails: [{ address: `api${i}@example.com` }],
    },
  }),
);
const createRaw = await measure(REQUESTS / 2, (i) =>
  pool.query(
    `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, emails, status, created_at, created_by, updated_at, updated_by)
     values ('bench', $1, $2, 'person', 'Bench', $3, $4, 'active', now(), 'bench', now(), 'bench')`,
    [
      randomUUID(),
      seq++,
      `Raw${i}`,
      JSON.stringify([{ address: `raw${i}@example.com`, label: "work", primary: false }]),
    ],
  ),
);

console.log(
  `\ncontacts CRUD, ${CONTACTS} contacts, ${REQUESTS} gets, ${REQUESTS / 2} creates, concurrency ${CONCURRENCY}, ${os.cpus().length} cores`,
);
console.log(row("contacts.get", getApi, getRaw));
console.log(row("contacts.create", createApi, createRaw));

rawServer.close();
await pool.end();
await api.close();
await server.stop();
