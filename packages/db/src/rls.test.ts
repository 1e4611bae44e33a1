import { randomUUID } from "node:crypto";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { APP_ROLE } from "./app-role.js";
import { TENANT_TABLES } from "./migrations/Migration20261123000002_access_control.js";
import { SEARCH_TENANT_TABLES } from "./migrations/Migration20261123000004_search_words.js";
import { EVENT_TENANT_TABLES } from "./migrations/Migration20261123000005_contact_events.js";
import { IDEMPOTENCY_TENANT_TABLES } from "./migrations/Migration20261123000006_idempotency.js";
import { IMPORT_TENANT_TABLES } from "./migrations/Migration20261123000008_imports.js";
import { POSTING_TENANT_TABLES } from "./migrations/Migration20261123000013_search_postings.js";
import { COUNT_TENANT_TABLES } from "./migrations/Migration20261123000022_contact_numbers.js";
import { WEBHOOK_TENANT_TABLES } from "./migrations/Migration20261123000027_webhooks.js";

/** Every table holding tenant data, whichever migration added it. */
const ALL_TENANT_TABLES = [
  ...TENANT_TABLES,
  ...SEARCH_TENANT_TABLES,
  ...EVENT_TENANT_TABLES,
  ...IDEMPOTENCY_TENANT_TABLES,
  ...IMPORT_TENANT_TABLES,
  ...POSTING_TENANT_TABLES,
  ...COUNT_TENANT_TABLES,
  ...WEBHOOK_TENANT_TABLES,
];

/** Tenant tables the application role has no privilege on (migration 26: only its definer function). */
const PRIVATE_TENANT_TABLES = ["tenant_request_buckets"];
import { createTestDatabase } from "./testing/test-database.js";
import type { TestDatabase } from "./testing/test-database.js";

let db: TestDatabase;
let owner: pg.Client;
let app: pg.Client;

/**
 * Inserts a tenant with a role, an API key, an account with a channel, a contact (whose name puts
 * one word in the tenant's search dictionary) and a reveal record.
 */
async function seedTenant(id: string): Promise<void> {
  const account = randomUUID();
  const contact = randomUUID();
  await owner.query(
    `insert into tenants (id, name, settings) values ($1, $1, '{}');
     insert into roles (tenant_id, code) values ($1, 'PRIMARY');
     insert into api_keys (tenant_id, id, name, prefix, key_hash, permissions, created_by)
       values ($1, gen_random_uuid(), 'k', 'ck_x', 'hash-' || $1, '{}', 'test');
     insert into accounts (tenant_id, id, type, key, name, created_at, created_by, updated_at, updated_by)
       values ($1, $2::uuid, 'CLOUD', 'k1', 'A', now(), 't', now(), 't');
     insert into account_channels (tenant_id, id, account_id, label, email)
       values ($1, gen_random_uuid(), $2::uuid, 'general', 'a@example.com');
     insert into contacts (tenant_id, id, number, subtype, status, last_name, created_at, created_by, updated_at, updated_by)
       values ($1, $3::uuid, 1, 'person', 'active', 'Lovelace', now(), 't', now(), 't');
     insert into tax_id_reveals (tenant_id, id, contact_id, revealed_by, via)
       values ($1, gen_random_uuid(), $3::uuid, 't', 'test');
     insert into contact_events (tenant_id, contact_id, type, version, actor)
       values ($1, $3::uuid, 'created', 1, 't');
     insert into idempotency_keys (tenant_id, caller, key, fingerprint, claim_id, state, expires_at)
       values ($1, 't', 'k', 'f', gen_random_uuid(), 'running', now() + interval '1 day');
     insert into imports (tenant_id, id, mode, file_name, file_sha256, file_bytes, options_key, limits, created_by)
       values ($1, $2::uuid, 'insert', 'f.csv', 'sha', 1, 'key', '{}', 't');
     insert into import_chunks (tenant_id, import_id, seq, data) values ($1, $2::uuid, 0, 'x');
     insert into import_errors (tenant_id, import_id, record_number, seq, reason) values ($1, $2::uuid, 1, 0, 'invalid');
     insert into webhook_endpoints (tenant_id, id, url, events, secret_ciphertext, cursor_txid, cursor_seq, created_by)
       values ($1, $2::uuid, 'https://example.com/hook', '{contact.created}', 'w1.x', '0', 0, 't');
     insert into webhook_deliveries (tenant_id, endpoint_id, id, message_id, event_type, payload)
       values ($1, $2::uuid, gen_random_uuid(), 'msg_1', 'webhook.test', '{}');
     update imports set checkpoint = 1 where tenant_id = $1 and id = $2::uuid;`.replaceAll(
      /\$(\d)/g,
      (_m, n: string) =>
        n === "1" ? pg.escapeLiteral(id) : n === "2" ? pg.escapeLiteral(account) : pg.escapeLiteral(contact),
    ),
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  app = new pg.Client({ connectionString: db.appUrl });
  await owner.connect();
  await app.connect();
  await seedTenant("alpha");
  await seedTenant("bravo");
});

afterAll(async () => {
  await app.end();
  await owner.end();
  await db.drop();
});

async function countAs(client: pg.Client, table: string, tenant: string | null): Promise<number> {
  await client.query("begin");
  try {
    if (tenant) await client.query("select set_config('app.tenant_id', $1, true)", [tenant]);
    const result = await client.query<{ n: string }>(`select count(*) n from ${table}`);
    return Number(result.rows[0]?.n);
  } finally {
    await client.query("rollback");
  }
}

describe("row-level security", () => {
  it("is enabled and forced on every table that holds tenant data", async () => {
    const tables = await owner.query<{ table: string; enabled: boolean; forced: boolean }>(`
      select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r'
        and (c.relname = 'tenants' or exists (
          select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))`);
    expect(tables.rows.map((t) => t.table).sort()).toEqual(
      [...ALL_TENANT_TABLES, ...PRIVATE_TENANT_TABLES].sort(),
    );
    for (const t of tables.rows) expect(t).toEqual({ table: t.table, enabled: true, forced: true });
  });

  it("binds a role that is not owner, superuser or BYPASSRLS, and the app connects as it", async () => {
    const role = await owner.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      "select rolsuper, rolbypassrls from pg_roles where rolname = $1",
      [APP_ROLE],
    );
    expect(role.rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
    const owned = await owner.query(
      "select tablename from pg_tables where schemaname = 'public' and pg_has_role($1, tableowner, 'MEMBER')",
      [APP_ROLE],
    );
    expect(owned.rows).toEqual([]);
    const me = await app.query<{ user: string }>("select current_user as user");
    expect(me.rows[0]?.user).toBe(APP_ROLE);
  });

  it("keeps the request buckets to take_request_tokens, for the tenant the session is bound to", async () => {
    await expect(app.query("select * from tenant_request_buckets")).rejects.toMatchObject({ code: "42501" });
    await app.query("begin");
    try {
      await app.query("select set_config('app.tenant_id', 'alpha', true)");
      const taken = await app.query<{ granted: number }>(
        "select granted from take_request_tokens('alpha', 10, 3)",
      );
      expect(taken.rows).toEqual([{ granted: 3 }]);
      await expect(app.query("select * from take_request_tokens('beta', 10, 1)")).rejects.toMatchObject({
        code: "42501",
      });
    } finally {
      await app.query("rollback");
    }
  });

  it("shows an unscoped application connection no tenant rows at all", async () => {
    for (const table of ALL_TENANT_TABLES) {
      expect({ table, rows: await countAs(app, table, null) }).toEqual({ table, rows: 0 });
      expect(await countAs(owner, table, null)).toBeGreaterThanOrEqual(2);
    }
  });

  it("shows a scoped connection its own tenant's rows only, even without a tenant filter", async () => {
    for (const table of TENANT_TABLES) {
      expect({ table, rows: await countAs(app, table, "alpha") }).toEqual({ table, rows: 1 });
    }
    await app.query("begin");
    try {
      await app.query("select set_config('app.tenant_id', 'alpha', true)");
      for (const table of [
        "contacts",
        ...SEARCH_TENANT_TABLES,
        ...EVENT_TENANT_TABLES,
        ...IDEMPOTENCY_TENANT_TABLES,
      ]) {
        const ids = await app.query<{ tenant_id: string }>(`select distinct tenant_id from ${table}`);
        expect({ table, tenants: ids.rows }).toEqual({ table, tenants: [{ tenant_id: "alpha" }] });
      }
    } finally {
      await app.query("rollback");
    }
  });

  it("refuses to write another tenant's rows", async () => {
    await app.query("begin");
    try {
      await app.query("select set_config('app.tenant_id', 'alpha', true)");
      const updated = await app.query("update contacts set notes = 'x' where tenant_id = 'bravo'");
      expect(updated.rowCount).toBe(0);
      await expect(
        app.query("insert into roles (tenant_id, code) values ('bravo', 'INTRUDER')"),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await app.query("rollback");
    }
  });

  it("lets a transaction that presents a key's hash read that key and no other", async () => {
    await app.query("begin");
    try {
      await app.query("select set_config('app.api_key_hash', 'hash-bravo', true)");
      const keys = await app.query<{ tenant_id: string }>("select tenant_id from api_keys");
      expect(keys.rows).toEqual([{ tenant_id: "bravo" }]);
    } finally {
      await app.query("rollback");
    }
  });

  it("lets the application purge every tenant's expired idempotency keys, and nothing else", async () => {
    await owner.query(
      `insert into idempotency_keys (tenant_id, caller, key, fingerprint, claim_id, state, expires_at)
       select t, 't', 'old', 'f', gen_random_uuid(), 'completed', now() - interval '1 second'
       from unnest(array['alpha', 'bravo']) t`,
    );
    await app.query("begin");
    try {
      await app.query("select set_config('app.tenant_id', 'alpha', true)");
      await expect(app.query("select purge_expired_idempotency_keys()")).rejects.toThrow(/outside a tenant/);
    } finally {
      await app.query("rollback");
    }
    await app.query("select purge_expired_idempotency_keys()");
    const left = await owner.query<{ tenant_id: string; key: string }>(
      "select tenant_id, key from idempotency_keys order by tenant_id, key",
    );
    expect(left.rows).toEqual([
      { tenant_id: "alpha", key: "k" },
      { tenant_id: "bravo", key: "k" },
    ]);
  });

  it("keeps change events append-only for the application", async () => {
    for (const statement of ["delete from contact_events", "update contact_events set actor = 'x'"]) {
      await app.query("begin");
      try {
        await app.query("select set_config('app.tenant_id', 'alpha', true)");
        await expect(app.query(statement)).rejects.toThrow(/permission denied/);
      } finally {
        await app.query("rollback");
      }
    }
  });

  it("keeps reveal records append-only for the application", async () => {
    await app.query("begin");
    try {
      await app.query("select set_config('app.tenant_id', 'alpha', true)");
      await expect(app.query("delete from tax_id_reveals")).rejects.toThrow(/permission denied/);
    } finally {
      await app.query("rollback");
    }
  });

  it("marks the functions search filters apply to row data leakproof, so RLS lets them use indexes", async () => {
    // Under row-level security a filter that calls a non-leakproof function on row data runs after
    // the policy, row by row, and cannot be an index condition (the benchmark's EXPLAIN shows it).
    const functions = [
      "pg_catalog.lower(text)",
      "pg_catalog.jsonb_contains(jsonb,jsonb)",
      "pg_catalog.arraycontains(anyarray,anyarray)",
      "pg_catalog.arrayoverlap(anyarray,anyarray)",
      "pg_catalog.texteq(text,text)",
      "pg_catalog.text_ge(text,text)",
      "pg_catalog.text_lt(text,text)",
    ];
    const found = await owner.query<{ fn: string; leakproof: boolean }>(
      "select f as fn, (select proleakproof from pg_proc where oid = f::regprocedure) as leakproof from unnest($1::text[]) f",
      [functions],
    );
    expect(found.rows).toEqual(functions.map((fn) => ({ fn, leakproof: true })));
  });

  it("counts each tenant's contacts for its contact limit", async () => {
    const counts = await owner.query<{ id: string; contact_count: string }>(
      "select id, tenant_contact_count(id)::text as contact_count from tenants order by id",
    );
    expect(counts.rows).toEqual([
      { id: "alpha", contact_count: "1" },
      { id: "bravo", contact_count: "1" },
    ]);
    await owner.query(
      `insert into contacts (tenant_id, id, number, subtype, status, created_at, created_by, updated_at, updated_by)
       select 'alpha', gen_random_uuid(), 100 + g, 'person', 'active', now(), 't', now(), 't' from generate_series(1, 3) g`,
    );
    await owner.query("delete from contacts where tenant_id = 'alpha' and number = 101");
    const after = await owner.query<{ contact_count: string }>(
      "select tenant_contact_count('alpha')::text as contact_count",
    );
    expect(after.rows[0]?.contact_count).toBe("3");
  });
});
