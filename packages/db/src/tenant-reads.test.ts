import { randomUUID } from "node:crypto";

import { DriverException } from "@mikro-orm/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createOrm } from "./orm.js";
import type { MikroORM } from "./orm.js";
import { TenantReads } from "./tenant-reads.js";
import { createTestDatabase } from "./testing/test-database.js";
import type { TestDatabase } from "./testing/test-database.js";

let db: TestDatabase;
let orm: MikroORM;
let reads: TenantReads;
const alpha = randomUUID();
const beta = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  const owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  try {
    for (const [tenant, code] of [
      [alpha, "ALPHA"],
      [beta, "BETA"],
    ] as const) {
      await owner.query("insert into tenants (id, name, settings) values ($1, $1, '{}')", [tenant]);
      await owner.query("insert into roles (tenant_id, code, description) values ($1, $2, $3)", [
        tenant,
        code,
        `it's ${code}`,
      ]);
    }
  } finally {
    await owner.end();
  }
  // One connection: every read below runs on the same session, so a binding left behind would show.
  orm = await createOrm({ url: db.appUrl, poolMax: 1 });
  reads = new TenantReads(orm);
});

afterAll(async () => {
  await orm.close();
  await db.drop();
});

const unbound = async () =>
  (
    await orm.em
      .fork()
      .execute<{ tenant: string | null }[]>(
        "select nullif(current_setting('app.tenant_id', true), '') as tenant",
      )
  )[0]?.tenant ?? null;

describe("TenantReads", () => {
  it("binds each read to its tenant: row-level security shows that tenant's rows only", async () => {
    // No tenant condition in the SQL: the policies alone decide.
    expect(await reads.for(alpha).execute("select code from roles")).toEqual([{ code: "ALPHA" }]);
    expect(await reads.for(beta).execute("select code from roles")).toEqual([{ code: "BETA" }]);
  });

  it("leaves nothing bound on the pooled session once the read is done", async () => {
    await reads.for(alpha).execute("select 1");
    expect(await unbound()).toBeNull();
    expect(await orm.em.fork().execute("select code from roles")).toEqual([]);
  });

  it("inlines parameters as literals (quotes cannot break out)", async () => {
    const rows = await reads
      .for(alpha)
      .execute("select code from roles where description = ?", ["it's ALPHA"]);
    expect(rows).toEqual([{ code: "ALPHA" }]);
    const none = await reads
      .for(alpha)
      .execute("select code from roles where description = ?", ["x'; select code from roles; --"]);
    expect(none).toEqual([]);
  });

  it("throws the ORM's exception for a failed statement and leaves the session clean", async () => {
    await expect(reads.for(alpha).execute("select ?::uuid", ["not-a-uuid"])).rejects.toBeInstanceOf(
      DriverException,
    );
    expect(await unbound()).toBeNull();
    expect(await reads.for(beta).execute("select code from roles")).toEqual([{ code: "BETA" }]);
  });

  it("binds a tenant id holding quotes as a literal: it names no tenant, so nothing is seen", async () => {
    expect(await reads.for(`${alpha}' or true --`).execute("select code from roles")).toEqual([]);
    expect(await reads.for(`x', true); select code from roles; --`).execute("select 1 as one")).toEqual([
      { one: 1 },
    ]);
    expect(await unbound()).toBeNull();
  });
});
