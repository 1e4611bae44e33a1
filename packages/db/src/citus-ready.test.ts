import fs from "node:fs";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  DISTRIBUTED_TABLES,
  REFERENCE_TABLES,
  SEPARATELY_COLOCATED,
  citusSchemaProblems,
  singleTenantPlanProblems,
} from "./citus.js";
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

/** Runs `fn` in a transaction that is rolled back, whatever happens. */
async function rolledBack<T>(fn: () => Promise<T>): Promise<T> {
  await owner.query("begin");
  try {
    return await fn();
  } finally {
    await owner.query("rollback");
  }
}

describe("the migrated schema distributes by tenant on Citus", () => {
  it("has every table classified, every key and tenant foreign key with tenant_id, every trigger listed", async () => {
    expect(await citusSchemaProblems(owner)).toEqual([]);
  });

  it("fails on an unclassified table, a key or foreign key without tenant_id, a table without it, an unlisted trigger", async () => {
    const problems = await rolledBack(async () => {
      await owner.query(`
        create table citus_probe (id int primary key);
        alter table roles add constraint roles_probe_key unique (code);
        create unique index contacts_probe_id on contacts (id);
        alter table tax_id_reveals add constraint tax_id_reveals_probe_fkey foreign key (contact_id) references contacts (id);
        alter table tenant_request_buckets add column account_id uuid,
          add constraint buckets_probe_fkey foreign key (tenant_id, account_id)
          references accounts (tenant_id, id) on update cascade;
        alter table api_keys add column contact_id uuid;
        alter table api_keys add constraint api_keys_probe_fkey foreign key (tenant_id, contact_id) references contacts (tenant_id, id);
        alter table search_words drop column tenant_id cascade;
        alter table idempotency_keys drop constraint idempotency_keys_pkey, alter column tenant_id drop not null;
        create function citus_probe() returns trigger language plpgsql as $$ begin return new; end $$;
        create trigger roles_probe before insert on roles for each row execute function citus_probe();
      `);
      return citusSchemaProblems(owner);
    });
    expect(problems.sort()).toEqual(
      [
        "public.citus_probe is not classified (distributed, reference or local: packages/db/src/citus.ts)",
        "roles: unique key roles_probe_key does not include tenant_id (Citus cannot enforce it across shards)",
        "contacts: unique key contacts_probe_id does not include tenant_id (Citus cannot enforce it across shards)",
        "tax_id_reveals.tax_id_reveals_probe_fkey -> contacts: a foreign key between tenant tables without tenant_id = tenant_id",
        "tenant_request_buckets.buckets_probe_fkey -> accounts: tenant_request_buckets is not co-located with the other tables",
        "tenant_request_buckets.buckets_probe_fkey -> accounts: an ON UPDATE action on a distributed table's foreign key",
        "api_keys.api_keys_probe_fkey -> contacts: a reference table cannot reference a distributed table",
        "search_words lacks tenant_id",
        "idempotency_keys.tenant_id may be null (Citus refuses a null distribution value)",
        "trigger roles.roles_probe is not listed in TRIGGERS (packages/db/src/citus.ts)",
      ].sort(),
    );
  });
});

describe("packages/db/citus/distribute.sql", () => {
  it("places every table as citus.ts says, each after the tables its foreign keys reference", async () => {
    // Stand-ins for Citus's functions, recording their calls; the script runs as psql would send it.
    await owner.query(`
      create temporary table citus_calls (n serial, kind text, tbl regclass, col text, colocate text);
      create function create_reference_table(table_name regclass) returns void language sql
        as $$ insert into citus_calls (kind, tbl) values ('reference', table_name) $$;
      create function create_distributed_table(table_name regclass, distribution_column text,
          distribution_type text default 'hash', colocate_with text default 'default',
          shard_count int default null) returns void language sql
        as $$ insert into citus_calls (kind, tbl, col, colocate)
              values ('distributed', table_name, distribution_column, colocate_with) $$;
    `);
    try {
      await owner.query(fs.readFileSync(new URL("../citus/distribute.sql", import.meta.url), "utf8"));
      const { rows: calls } = await owner.query<{ kind: string; tbl: string; col: string; colocate: string }>(
        "select kind, tbl::text, col, colocate from citus_calls order by n",
      );
      const { rows: fks } = await owner.query<{ from: string; to: string }>(
        `select conrelid::regclass::text as from, confrelid::regclass::text as to from pg_constraint
          where contype = 'f' and connamespace = 'public'::regnamespace and conrelid <> confrelid`,
      );
      const { rows: settings } = await owner.query<{ setconfig: string[] }>(
        `select setconfig from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
          where d.datname = current_database() and s.setrole = 0`,
      );

      expect(calls.filter((c) => c.kind === "reference").map((c) => c.tbl)).toEqual([...REFERENCE_TABLES]);
      expect(
        calls
          .filter((c) => c.kind === "distributed")
          .map((c) => c.tbl)
          .sort(),
      ).toEqual([...DISTRIBUTED_TABLES].sort());
      const anchor = calls.find((c) => c.kind === "distributed");
      if (!anchor) throw new Error("the script distributes no table");
      for (const c of calls.filter((call) => call.kind === "distributed")) {
        expect(c.col, c.tbl).toBe("tenant_id");
        const expected = c === anchor ? "default" : c.tbl in SEPARATELY_COLOCATED ? "none" : anchor.tbl;
        expect(c.colocate, c.tbl).toBe(expected);
      }
      // Citus distributes a table only once the tables it references are distributed or reference.
      const placed = new Map<string, string>();
      for (const c of calls) {
        for (const fk of fks.filter((f) => f.from === c.tbl)) {
          expect(placed.has(fk.to), `${c.tbl} references ${fk.to}, placed later`).toBe(true);
          if (c.kind === "reference") expect(placed.get(fk.to), `${c.tbl} -> ${fk.to}`).toBe("reference");
        }
        placed.set(c.tbl, c.kind);
      }
      expect(settings[0]?.setconfig).toContain("citus.propagate_set_commands=local");
    } finally {
      await owner.query(`drop function create_reference_table(regclass);
        drop function create_distributed_table(regclass, text, text, text, int);`);
    }
  });
});

describe("singleTenantPlanProblems", () => {
  const tenant = "t'1";
  const q = (text: string, values: unknown[] = []) => ({ text, values });

  it("accepts tables restricted to the tenant directly or through tenant_id = tenant_id", async () => {
    const checks = [
      q("select * from contacts c where c.tenant_id = $1", [tenant]),
      q(
        `select c.id from contacts c join accounts a on a.tenant_id = c.tenant_id and a.id = c.account_id
          where c.tenant_id = $1`,
        [tenant],
      ),
      q(
        `select c.id from contacts c where c.tenant_id = $1
            and exists (select 1 from roles r where r.tenant_id = c.tenant_id and r.code = any(c.roles))`,
        [tenant],
      ),
    ];
    for (const check of checks) expect(await singleTenantPlanProblems(owner, check, tenant)).toEqual([]);
  });

  it("flags a join on another column, a table read without the tenant, another tenant", async () => {
    expect(
      await singleTenantPlanProblems(
        owner,
        q("select c.id from contacts c join accounts a on a.id = c.account_id where c.tenant_id = $1", [
          tenant,
        ]),
        tenant,
      ),
    ).toEqual([expect.stringMatching(/ on accounts a is not restricted to the tenant$/)]);
    expect(
      await singleTenantPlanProblems(
        owner,
        q("select count(*) from contacts c where c.id in (select contact_id from tax_id_reveals)"),
        tenant,
      ),
    ).toHaveLength(2);
    expect(
      await singleTenantPlanProblems(
        owner,
        q("select * from roles r where r.tenant_id = $1", ["other"]),
        tenant,
      ),
    ).toHaveLength(1);
  });
});
