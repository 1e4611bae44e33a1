import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createOrm } from "./orm.js";
import { createTestDatabase } from "./testing/test-database.js";
import type { TestDatabase } from "./testing/test-database.js";

let db: TestDatabase;
let owner: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
});

afterAll(async () => {
  await owner.end();
  await db.drop();
});

const insertContacts = (tenant: string, from: number, to: number) =>
  owner.query(
    `insert into contacts (tenant_id, id, number, subtype, status, created_at, created_by, updated_at, updated_by)
     select $1, gen_random_uuid(), g, 'person', 'active', now(), 't', now(), 't' from generate_series($2::int, $3::int) g`,
    [tenant, from, to],
  );

/** Numbers and the limit as a writer of the tenant gets them (its transaction bound to it). */
async function take(
  tenant: string,
  wanted: number,
): Promise<{ numbers: string[]; contact_limit: string | null }> {
  await owner.query("begin");
  try {
    await owner.query("select set_config('app.tenant_id', $1, true)", [tenant]);
    const { rows } = await owner.query<{ numbers: string[]; contact_limit: string | null }>(
      "select numbers, contact_limit from take_contact_numbers($1, $2)",
      [tenant, wanted],
    );
    await owner.query("commit");
    if (!rows[0]) throw new Error("no row");
    return rows[0];
  } catch (error) {
    await owner.query("rollback");
    throw error;
  }
}

const count = async (tenant: string) =>
  Number((await owner.query<{ n: string }>("select tenant_contact_count($1) as n", [tenant])).rows[0]?.n);

describe("migration 22 (contact numbers and counts off the tenant row)", () => {
  it("carries existing tenants' counts and numbers over, and back down", async () => {
    const orm = await createOrm({ url: db.url, poolMax: 1 });
    try {
      await orm.migrator.down();
      await owner.query(
        "insert into tenants (id, name, settings, contact_seq) values ('old', 'old', '{}', 7)",
      );
      await insertContacts("old", 1, 5);
      await owner.query("insert into tenants (id, name, settings) values ('loaded', 'loaded', '{}')");
      await insertContacts("loaded", 1, 3); // numbered by a loader that did not raise contact_seq
      await orm.migrator.up();
      expect([await count("old"), await count("loaded")]).toEqual([5, 3]);
      expect((await take("old", 2)).numbers).toEqual(["8", "9"]);
      expect((await take("loaded", 1)).numbers).toEqual(["4"]);

      await orm.migrator.down();
      const back = await owner.query<{ id: string; contact_count: string }>(
        "select id, contact_count from tenants where id in ('old', 'loaded') order by id",
      );
      expect(back.rows).toEqual([
        { id: "loaded", contact_count: "3" },
        { id: "old", contact_count: "5" },
      ]);
      await orm.migrator.up();
    } finally {
      await orm.close();
    }
  });

  it("keeps the count exact through many statements while folding it into few rows", async () => {
    await owner.query("insert into tenants (id, name, settings) values ('many', 'many', '{}')");
    for (let i = 1; i <= 200; i++) await insertContacts("many", i, i);
    await owner.query("delete from contacts where tenant_id = 'many' and number % 4 = 0");
    expect(await count("many")).toBe(150);
    const rows = await owner.query<{ n: string }>(
      "select count(*) as n from tenant_contact_counts where tenant_id = 'many'",
    );
    expect(Number(rows.rows[0]?.n)).toBeLessThan(100);
  });

  it("grants what the contact limit leaves, and follows a raised contact_seq", async () => {
    await owner.query(
      `insert into tenants (id, name, settings) values ('capped', 'capped', '{"limits": {"contacts": 4}}')`,
    );
    await insertContacts("capped", 1, 3);
    await owner.query("update tenants set contact_seq = 3 where id = 'capped'");
    expect(await take("capped", 5)).toEqual({ numbers: ["4"], contact_limit: "4" });
    await owner.query("update tenants set contact_seq = 100 where id = 'capped'");
    await owner.query("update tenants set settings = '{}' where id = 'capped'");
    expect(await take("capped", 2)).toEqual({ numbers: ["101", "102"], contact_limit: null });
  });

  it("starts a tenant that comes back after a delete from 1, with no contacts counted", async () => {
    await owner.query("insert into tenants (id, name, settings) values ('again', 'again', '{}')");
    await insertContacts("again", 1, 4);
    expect((await take("again", 1)).numbers).toEqual(["1"]);
    await owner.query("delete from tenants where id = 'again'");
    await owner.query("insert into tenants (id, name, settings) values ('again', 'again', '{}')");
    expect(await count("again")).toBe(0);
    expect((await take("again", 1)).numbers).toEqual(["1"]);
  });

  it("refuses numbers outside a transaction bound to the tenant", async () => {
    await expect(owner.query("select * from take_contact_numbers('capped', 1)")).rejects.toMatchObject({
      code: "42501",
    });
  });

  it("refuses another tenant's numbers inside a transaction bound to one tenant", async () => {
    await owner.query("begin");
    try {
      await owner.query("select set_config('app.tenant_id', 'many', true)");
      await expect(owner.query("select * from take_contact_numbers('capped', 1)")).rejects.toMatchObject({
        code: "42501",
      });
    } finally {
      await owner.query("rollback");
    }
  });
});
