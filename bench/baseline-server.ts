/**
 * The raw baseline of the CRUD benchmark, in its own process: a minimal Hono + `pg` handler with no
 * auth, validation, ORM, tRPC or change events, over the same table as the API.
 *
 *  - `GET /contacts/:id`: the same primary-key SELECT as `contacts.get`.
 *  - `POST /contacts` (`{ contact: { firstName, lastName, emails } }`): one INSERT of the contact, its
 *    number from the sequence `bench_baseline_numbers` (the simplest correct per-tenant numbering for
 *    one tenant; the benchmark creates it past every number the API hands out). The table's own
 *    triggers run as for any insert.
 *
 * The search benchmark's routes (`/in-tenant/...`) run as the search API does: as the role of
 * DATABASE_URL (the application role there, so row-level security applies), in a transaction that
 * first sets the tenant (`begin`, `set_config('app.tenant_id')`, the queries, `commit`):
 *
 *  - `GET /in-tenant/contacts/:id`: the same primary-key SELECT as `contacts.get`;
 *  - `GET /in-tenant/accounts/:id/contacts`: the SQL of `contacts.list` for a 50-row first page of
 *    the account's contacts (`listSql`, the API's own);
 *  - `GET /in-tenant/search?input=<JSON>`: the input `contacts.search` takes, parsed by the same
 *    domain schema and planned by the API's own planner (`planContactSearch`: the free-text word
 *    lookup and the filter frequency first when the input needs them, then the search), so the
 *    baseline sends exactly the SQL the API sends, in as many round trips; it answers the rows as
 *    they come (no masking, mapping or output validation).
 *
 * DATABASE_URL and BENCH_TENANT; prints "baseline listening on <url>".
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import pg from "pg";
import { listSql } from "@contacts/contacts/search/list-sql";
import { planContactSearch } from "@contacts/contacts/search/search";
import { sql } from "@contacts/contacts/search/sql";
import type { Sql } from "@contacts/contacts/search/sql";
import { ContactListInput, ContactSearchInput } from "@contacts/domain/search";

const url = process.env.DATABASE_URL;
const tenantId = process.env.BENCH_TENANT;
if (!url || !tenantId) throw new Error("DATABASE_URL and BENCH_TENANT are required");

// The API's pool size (startServer's default).
const pool = new pg.Pool({ connectionString: url, max: 20 });

interface CreateBody {
  contact: { firstName: string; lastName: string; emails: { address: string }[] };
}

const app = new Hono();
app.get("/contacts/:id", async (c) => {
  const result = await pool.query("select * from contacts where tenant_id = $1 and id = $2", [
    tenantId,
    c.req.param("id"),
  ]);
  return result.rows[0] ? c.json(result.rows[0]) : c.json({ error: "not found" }, 404);
});
app.post("/contacts", async (c) => {
  const { contact } = await c.req.json<CreateBody>();
  const emails = contact.emails.map((e, i) => ({ address: e.address, label: "work", primary: i === 0 }));
  const result = await pool.query<{ id: string; number: string }>(
    `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, emails, status,
       created_at, created_by, updated_at, updated_by)
     values ($1, $2, nextval('bench_baseline_numbers'), 'person', $3, $4, $5, 'active', now(), 'bench', now(), 'bench')
     returning id, number`,
    [tenantId, randomUUID(), contact.firstName, contact.lastName, JSON.stringify(emails)],
  );
  return c.json(result.rows[0], 201);
});

/** `work` in a transaction of the role of DATABASE_URL that first sets the tenant, as the API runs a call. */
async function inTenant<T>(
  work: (run: <R extends object>(query: Sql) => Promise<R[]>) => Promise<T>,
): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("begin");
    await c.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
    const result = await work(
      async <R extends object>(query: Sql) => (await c.query<R & pg.QueryResultRow>(query)).rows,
    );
    await c.query("commit");
    return result;
  } catch (error) {
    await c.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    c.release();
  }
}

app.get("/in-tenant/contacts/:id", async (c) => {
  const id = c.req.param("id");
  const rows = await inTenant((run) =>
    run(sql`select * from contacts where tenant_id = ${tenantId} and id = ${id}`),
  );
  return rows[0] ? c.json(rows[0]) : c.json({ error: "not found" }, 404);
});
app.get("/in-tenant/accounts/:id/contacts", async (c) => {
  const input = ContactListInput.parse({ accountId: c.req.param("id"), limit: 50 });
  const rows = await inTenant((run) => run(listSql(tenantId, input)));
  return c.json({ items: rows.slice(0, 50), more: rows.length > 50 });
});
app.get("/in-tenant/search", async (c) => {
  const input = ContactSearchInput.parse(JSON.parse(c.req.query("input") ?? "{}"));
  const rows = await inTenant(async (run) => {
    const { query } = await planContactSearch(tenantId, input, null, run);
    return run(query);
  });
  return c.json({ items: rows.slice(0, input.limit), more: rows.length > input.limit });
});

const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
server.once("listening", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`baseline listening on http://127.0.0.1:${String(port)}\n`);
});
const stop = (): void => {
  server.close();
  void pool.end().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
