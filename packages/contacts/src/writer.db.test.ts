import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { ContactInput } from "@contacts/domain/contact";
import type { ContactData } from "@contacts/domain/contact";
import { maskLast4 } from "@contacts/domain/masking";

import { contactDocument } from "./document.js";
import { pgRunner } from "./numbers.js";
import { applyContactChanges } from "./writer.js";
import type { ContactChange, WriterActor } from "./writer.js";

let db: TestDatabase;
let owner: pg.Client;
const vault = new TaxIdVault(generateKeyringForTests());
const TENANT = "writer";
const actor: WriterActor = {
  tenantId: TENANT,
  subject: "test:writer",
  mayUnlock: false,
  requirePrimaryAddress: false,
};

const person = (fields: Record<string, unknown>): ContactData =>
  ContactInput.parse({ subtype: "person", firstName: "Ada", lastName: "Lovelace", ...fields });

/** Runs `fn` in a transaction of the application role bound to the tenant (as the API and worker do). */
async function inTenant<T>(
  fn: (client: pg.Client) => Promise<T>,
  commit = true,
  tenant = TENANT,
): Promise<T> {
  const client = new pg.Client({ connectionString: db.appUrl });
  await client.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('app.tenant_id', $1, true)", [tenant]);
    const result = await fn(client);
    await client.query(commit ? "commit" : "rollback");
    return result;
  } finally {
    await client.end();
  }
}

const apply = (changes: ContactChange[]) =>
  inTenant((client) => applyContactChanges(pgRunner(client), actor, changes, { vault }));

async function events(contactId: string): Promise<{ type: string; version: number; patch: unknown }[]> {
  const found = await owner.query<{ type: string; version: number; patch: unknown }>(
    "select type, version, patch from contact_events where tenant_id = $1 and contact_id = $2 order by seq",
    [TENANT, contactId],
  );
  return found.rows;
}

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  await owner.query("insert into tenants (id, name, settings) values ($1, 'writer', '{}')", [TENANT]);
  await owner.query("insert into roles (tenant_id, code) values ($1, 'BILLING'), ($1, 'GONE')", [TENANT]);
});

afterAll(async () => {
  await owner.end();
  await db.drop();
});

describe("applyContactChanges", () => {
  it("answers one result per change in order; a refused change writes nothing, the others are written with one event each", async () => {
    const [seed] = await apply([{ op: "create", data: person({ externalId: "held" }) }]);
    if (!seed?.ok || !seed.row) throw new Error("seed not created");
    const lockedSeed = await apply([{ op: "create", data: person({ lastName: "Locked" }) }]);
    const lockedId = lockedSeed[0]?.ok ? lockedSeed[0].id : "";
    await owner.query("update contacts set locked = true where id = $1", [lockedId]);

    const results = await apply([
      { op: "create", data: person({ roles: ["BILLING"], externalId: "new-1" }) },
      { op: "create", data: person({ roles: ["NOPE"] }) }, // unknown role
      { op: "create", data: person({ externalId: "held" }) }, // held by the seed
      { op: "create", data: person({ externalId: "new-1" }) }, // taken by the first change of the batch
      {
        op: "update",
        id: seed.id,
        expectedVersion: 1,
        data: person({ externalId: "held", nickname: "Countess" }),
      },
      { op: "update", id: lockedId, data: person({ lastName: "Unlocked?", locked: true }) }, // locked
      { op: "delete", id: "00000000-0000-4000-8000-000000000000" }, // not found
    ]);

    expect(
      results.map((r) =>
        r.ok ? "ok" : `${r.error.kind}:${r.error.errors[0]?.reason}:${r.error.errors[0]?.field}`,
      ),
    ).toEqual([
      "ok",
      "BAD_REQUEST:unknown_reference:roles.0",
      "CONFLICT:duplicate:externalId",
      "CONFLICT:duplicate:externalId",
      "ok",
      "CONFLICT:locked:id",
      "NOT_FOUND:not_found:id",
    ]);
    const [created, , held] = results;
    if (!created?.ok || !created.row) throw new Error("the first create failed");
    expect(held?.ok === false && held.error.details).toEqual({ contactId: seed.id });
    expect(created.row.roles).toEqual(["BILLING"]);

    const count = await owner.query<{ n: string }>(
      "select count(*) as n from contacts where tenant_id = $1",
      [TENANT],
    );
    expect(Number(count.rows[0]?.n)).toBe(3); // the seed, the locked one and the first create
    expect((await events(created.id)).map((e) => [e.type, e.version])).toEqual([["created", 1]]);
    expect((await events(seed.id)).map((e) => [e.type, e.version])).toEqual([
      ["created", 1],
      ["updated", 2],
    ]);
    expect((await events(lockedId)).map((e) => e.type)).toEqual(["created"]);
  });

  it("builds the created event in SQL as the same document the package's contactDocument gives, tax ID masked", async () => {
    const [result] = await apply([
      {
        op: "create",
        data: person({
          taxId: "123-45-6789",
          emails: [{ address: "ada@example.com", label: "work", primary: true }],
          addresses: [
            { label: "home", line1: "1 Analytical Way", city: "London", country: "GB", primary: true },
          ],
          dateOfBirth: "1815-12-10",
        }),
      },
    ]);
    if (!result?.ok || !result.row) throw new Error("not created");
    const [event] = await events(result.id);
    const expected = JSON.parse(
      JSON.stringify(contactDocument(result.row, maskLast4("123-45-6789"))),
    ) as unknown;
    expect(event?.patch).toEqual([{ op: "add", path: "", value: expected }]);
    expect(JSON.stringify(event?.patch)).not.toContain("123-45-6789");
  });

  it("writes a change read without a lock only if the contact still has the version read", async () => {
    const [made] = await apply([{ op: "create", data: person({ lastName: "Stale" }) }]);
    if (!made?.ok || !made.row) throw new Error("not created");
    const readEarlier = made.row;
    await apply([{ op: "update", id: made.id, data: person({ lastName: "Changed meanwhile" }) }]);

    const [late] = await apply([
      { op: "update", id: made.id, current: readEarlier, data: person({ lastName: "Late" }) },
    ]);
    expect(late?.ok === false && late.error.errors).toEqual([
      { reason: "version_mismatch", field: "expectedVersion" },
    ]);
    const stored = await owner.query<{ last_name: string; version: number }>(
      "select last_name, version from contacts where id = $1",
      [made.id],
    );
    expect(stored.rows[0]).toEqual({ last_name: "Changed meanwhile", version: 2 });
    expect((await events(made.id)).map((e) => e.version)).toEqual([1, 2]);
  });

  it("holds a share lock on every role it writes until commit, so a concurrent roles.delete waits", async () => {
    await inTenant(async (client) => {
      const [result] = await applyContactChanges(
        pgRunner(client),
        actor,
        [{ op: "create", data: person({ roles: ["GONE"] }) }],
        { vault },
      );
      expect(result?.ok).toBe(true);
      // Another connection cannot take the role for a delete while this transaction is open.
      await expect(
        owner.query("select code from roles where tenant_id = $1 and code = 'GONE' for update nowait", [
          TENANT,
        ]),
      ).rejects.toThrow(/could not obtain lock/);
    }, false);
    await expect(
      owner.query("select code from roles where tenant_id = $1 and code = 'GONE' for update nowait", [
        TENANT,
      ]),
    ).resolves.toBeTruthy();
  });

  it("checks everything and writes nothing on a dry run", async () => {
    const before = await owner.query<{ n: string }>(
      "select count(*) as n from contact_events where tenant_id = $1",
      [TENANT],
    );
    const results = await inTenant((client) =>
      applyContactChanges(
        pgRunner(client),
        actor,
        [
          { op: "create", data: person({}) },
          { op: "create", data: person({ roles: ["NOPE"] }) },
        ],
        { vault, dryRun: true },
      ),
    );
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    const after = await owner.query<{ n: string }>(
      "select count(*) as n from contact_events where tenant_id = $1",
      [TENANT],
    );
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it("numbers a batch's new contacts in its order in the insert, and refuses those past the tenant's contact limit", async () => {
    await owner.query(
      `insert into tenants (id, name, settings) values ('capped', 'capped', '{"limits": {"contacts": 2}}')`,
    );
    const capped = { ...actor, tenantId: "capped" };
    const results = await inTenant(
      (client) =>
        applyContactChanges(
          pgRunner(client),
          capped,
          [1, 2, 3].map((n) => ({ op: "create", data: person({ lastName: `Capped ${String(n)}` }) })),
          { vault },
        ),
      true,
      "capped",
    );
    expect(results.map((r) => (r.ok ? r.row?.number : r.error.errors[0]?.reason))).toEqual([
      1,
      2,
      "tenant_limit",
    ]);
    const last = results[2];
    expect(last?.ok === false && last.error.details).toEqual({ limit: 2 });
    const stored = await owner.query<{ n: string }>(
      "select count(*) as n from contacts where tenant_id = 'capped'",
    );
    expect(Number(stored.rows[0]?.n)).toBe(2);
  });

  it("leaves the tax ID's columns as stored when an update does not change it (a key rotation since the read stays)", async () => {
    const [made] = await apply([{ op: "create", data: person({ lastName: "Taxed", taxId: "123-45-6789" }) }]);
    if (!made?.ok || !made.row) throw new Error("not created");
    const readBefore = made.row;
    // What a key rotation does: a new ciphertext, no new version.
    const rotated = vault.encrypt("123-45-6789", { tenantId: TENANT, contactId: made.id });
    await owner.query("update contacts set tax_id_ciphertext = $2, tax_id_key_id = $3 where id = $1", [
      made.id,
      rotated.ciphertext,
      rotated.keyId,
    ]);
    const [updated] = await apply([
      {
        op: "update",
        id: made.id,
        current: readBefore,
        data: person({ lastName: "Taxed again", taxId: "123-45-6789" }),
      },
    ]);
    expect(updated?.ok).toBe(true);
    const stored = await owner.query<{ last_name: string; tax_id_ciphertext: string }>(
      "select last_name, tax_id_ciphertext from contacts where id = $1",
      [made.id],
    );
    expect(stored.rows[0]).toEqual({ last_name: "Taxed again", tax_id_ciphertext: rotated.ciphertext });
  });

  it("finds an account whose id is sent in upper case", async () => {
    const accountId = "7d0c6a4e-9b1f-4c2a-8e3d-5f6a7b8c9d0e";
    await owner.query(
      `insert into accounts (tenant_id, id, type, key, name, created_at, created_by, updated_at, updated_by)
       values ($1, $2, 'customer', 'UPPER', 'Upper', now(), 't', now(), 't')`,
      [TENANT, accountId],
    );
    const [result] = await apply([{ op: "create", data: person({ accountId: accountId.toUpperCase() }) }]);
    expect(result?.ok).toBe(true);
  });
});
