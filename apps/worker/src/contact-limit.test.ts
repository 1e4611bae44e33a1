import { pgRunner } from "@contacts/contacts/numbers";
import { applyContactChanges } from "@contacts/contacts/writer";
import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { ContactInput } from "@contacts/domain/contact";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTenant, withClient } from "./testing/import-fixtures.js";
import { startTestWorker } from "./testing/import-fixtures.js";
import type { TestWorker } from "./testing/import-fixtures.js";

let testWorker: TestWorker;
let db: TestDatabase;

beforeAll(async () => {
  testWorker = await startTestWorker();
  ({ db } = testWorker);
});

afterAll(() => testWorker.stop());

const runImport: TestWorker["runImport"] = (...args) => testWorker.runImport(...args);

const csv = (n: number) =>
  "External ID,First Name,Last Name\n" +
  Array.from({ length: n }, (_, i) => `x${i + 1},Ann${i + 1},Lee`).join("\n");

async function stored(tenantId: string) {
  return withClient(db.url, async (c) => ({
    rows: (
      await c.query<{ external_id: string; number: string }>(
        "select external_id, number from contacts where tenant_id = $1 order by number",
        [tenantId],
      )
    ).rows.map((r) => [r.external_id, Number(r.number)]),
    count: Number(
      (await c.query<{ n: string }>("select tenant_contact_count($1) as n", [tenantId])).rows[0]?.n,
    ),
  }));
}

describe("an import and the tenant's contact numbers and limit", () => {
  it("inserts up to the contact limit, numbered in record order, and reports the rest tenant_limit", async () => {
    const tenant = await createTenant(db.url, ["PRIMARY"], 5);
    const { state, errors } = await runImport(tenant, csv(7));
    expect(state).toMatchObject({ state: "completed", inserted: 5, failed: 2 });
    expect(errors.map((e) => [e.record_number, e.reason, e.column_name])).toEqual([
      [6, "tenant_limit", null],
      [7, "tenant_limit", null],
    ]);
    const after = await stored(tenant);
    expect(after.rows).toEqual([1, 2, 3, 4, 5].map((i) => [`x${i}`, i]));
    expect(after.count).toBe(5);
  });

  it("counts what earlier chunks of a dry run would have inserted against the limit", async () => {
    const tenant = await createTenant(db.url, ["PRIMARY"], 4);
    const { state, errors } = await runImport(tenant, csv(7), { dryRun: true });
    expect(state).toMatchObject({ state: "completed", inserted: 4, failed: 3 });
    expect(errors.map((e) => e.reason)).toEqual(Array(3).fill("tenant_limit"));
    expect((await stored(tenant)).count).toBe(0);
  });

  it("runs its chunks while another writer of the tenant holds new contacts uncommitted", async () => {
    const tenant = await createTenant(db.url, ["PRIMARY"]);
    const other = new pg.Client({ connectionString: db.appUrl });
    await other.connect();
    try {
      await other.query("begin");
      await other.query("select set_config('app.tenant_id', $1, true)", [tenant]);
      // What an API create does in its transaction: the writer stores one new contact.
      const [open] = await applyContactChanges(
        pgRunner(other),
        { tenantId: tenant, subject: "t", mayUnlock: false, requirePrimaryAddress: false },
        [
          {
            op: "create",
            data: ContactInput.parse({ subtype: "person", firstName: "Still", lastName: "Open" }),
          },
        ],
        { vault: new TaxIdVault(generateKeyringForTests()) },
      );
      expect(open?.ok).toBe(true);
      const { state } = await runImport(tenant, csv(7));
      expect(state).toMatchObject({ state: "completed", inserted: 7 });
      await other.query("commit");
      const after = await stored(tenant);
      expect(after.rows.map((r) => r[1])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(after.count).toBe(8);
    } finally {
      await other.end();
    }
  });
});
