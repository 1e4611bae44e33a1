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
    // Back to just before migration 22, whatever came after it.
    const beforeNumbers = async () => {
      while (
        (await orm.migrator.getExecutedMigrations()).at(-1)?.name !==
        "Migration20261123000021_account_address"
      )
        await orm.migrator.down();
    };
    try {
      await beforeNumbers();
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

      await beforeNumbers();
      const back = await owner.query<{ id: string; contact_count: string; contact_seq: string }>(
        "select id, contact_count, contact_seq from tenants where id in ('old', 'loaded') order by id",
      );
      // Back down, the old code numbers after contact_seq: past every number handed out (9 and 4).
      expect(back.rows).toEqual([
        { id: "loaded", contact_count: "3", contact_seq: "4" },
        { id: "old", contact_count: "5", contact_seq: "9" },
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

  it("never moves a sequence back when contact_seq is raised below where it starts", async () => {
    // As migration 22 leaves a tenant whose contacts were numbered past contact_seq: a sequence that
    // handed out nothing yet, starting above contact_seq.
    await owner.query("insert into tenants (id, name, settings) values ('ahead', 'ahead', '{}')");
    await owner.query("select setval(contact_number_sequence('ahead')::regclass, 10, false)");
    await owner.query("update tenants set contact_seq = 5 where id = 'ahead'");
    expect((await take("ahead", 1)).numbers).toEqual(["10"]);
    await owner.query("update tenants set contact_seq = 8 where id = 'ahead'");
    expect((await take("ahead", 1)).numbers).toEqual(["11"]);
  });

  it("refuses to hand out more than a million numbers at once", async () => {
    await owner.query("insert into tenants (id, name, settings) values ('greedy', 'greedy', '{}')");
    await expect(take("greedy", 1_000_001)).rejects.toThrow(/at most 1000000 contact numbers/);
    expect((await take("greedy", 1)).numbers).toEqual(["1"]);
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

  it("lets the application role read the count but not write it; its inserts and deletes still count (migration 25)", async () => {
    await owner.query("insert into tenants (id, name, settings) values ('owned', 'owned', '{}')");
    const app = new pg.Client({ connectionString: db.appUrl });
    await app.connect();
    const bound = async (sql: string, params: unknown[] = []): Promise<pg.QueryResult<{ n?: string }>> => {
      await app.query("begin");
      try {
        await app.query("select set_config('app.tenant_id', 'owned', true)");
        const result = await app.query<{ n?: string }>(sql, params);
        await app.query("commit");
        return result;
      } catch (error) {
        await app.query("rollback");
        throw error;
      }
    };
    try {
      await bound(
        `insert into contacts (tenant_id, id, number, subtype, status, created_at, created_by, updated_at, updated_by)
         select 'owned', gen_random_uuid(), g, 'person', 'active', now(), 't', now(), 't' from generate_series(1, 3) g`,
      );
      await bound("delete from contacts where tenant_id = 'owned' and number = 3");
      expect(await count("owned")).toBe(2);
      const read = await bound("select tenant_contact_count('owned') as n");
      expect(Number(read.rows[0]?.n)).toBe(2);
      for (const forged of [
        "insert into tenant_contact_counts (tenant_id, delta) values ('owned', -1000)",
        "update tenant_contact_counts set delta = 0 where tenant_id = 'owned'",
        "delete from tenant_contact_counts where tenant_id = 'owned'",
        "select fold_contact_counts('owned')",
      ])
        await expect(bound(forged)).rejects.toMatchObject({ code: "42501" });
      expect(await count("owned")).toBe(2);
      // A temporary table of the same name does not take the real one's place in the trigger.
      await app.query("create temp table tenant_contact_counts (id bigint, tenant_id text, delta bigint)");
      await bound(
        `insert into contacts (tenant_id, id, number, subtype, status, created_at, created_by, updated_at, updated_by)
         values ('owned', gen_random_uuid(), 10, 'person', 'active', now(), 't', now(), 't')`,
      );
      expect(await count("owned")).toBe(3);
    } finally {
      await app.end();
    }
  });
});
