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
 * DATABASE_URL (the owner) and BENCH_TENANT; prints "baseline listening on <url>".
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import pg from "pg";

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
