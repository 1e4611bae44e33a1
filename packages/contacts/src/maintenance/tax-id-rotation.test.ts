import { randomBytes, randomUUID } from "node:crypto";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { TaxIdKeyring, generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { rotateTaxIdKeys } from "./tax-id-rotation.js";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";

let db: TestDatabase;
let owner: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  await owner.query(
    "insert into tenants (id, name, settings) values ('alpha', 'A', '{}'), ('bravo', 'B', '{}')",
  );
});

afterAll(async () => {
  await owner.end();
  await db.drop();
});

async function insertContact(
  tenantId: string,
  columns: { tax_id?: string; tax_id_ciphertext?: string; tax_id_key_id?: string },
  id = randomUUID(),
): Promise<string> {
  await owner.query(
    `insert into contacts (tenant_id, id, number, subtype, status, created_at, created_by, updated_at, updated_by,
       tax_id, tax_id_ciphertext, tax_id_key_id)
     values ($1, $2, (select coalesce(max(number), 0) + 1 from contacts where tenant_id = $1), 'person', 'active',
       now(), 't', now(), 't', $3, $4, $5)`,
    [tenantId, id, columns.tax_id ?? null, columns.tax_id_ciphertext ?? null, columns.tax_id_key_id ?? null],
  );
  return id;
}

describe("rotateTaxIdKeys", () => {
  it("re-encrypts every row on an old key, and legacy plaintext, under the current key", async () => {
    const oldKeyring = generateKeyringForTests();
    const oldVault = new TaxIdVault(oldKeyring);
    const expected = new Map<string, { tenantId: string; taxId: string }>();
    for (let i = 0; i < 5; i++) {
      const tenantId = i % 2 ? "alpha" : "bravo";
      const id = randomUUID();
      const taxId = `123-45-${String(1000 + i)}`;
      const { ciphertext, keyId } = oldVault.encrypt(taxId, { tenantId, contactId: id });
      await insertContact(tenantId, { tax_id_ciphertext: ciphertext, tax_id_key_id: keyId }, id);
      expected.set(id, { tenantId, taxId });
    }
    const legacy = await insertContact("alpha", { tax_id: "987-65-4321" });
    expected.set(legacy, { tenantId: "alpha", taxId: "987-65-4321" });

    const oldKey = oldKeyring.key(oldKeyring.currentKeyId);
    if (!oldKey) throw new Error("test keyring without its key");
    const newVault = new TaxIdVault(
      TaxIdKeyring.fromParts({
        currentKeyId: "k2",
        keys: { [oldKeyring.currentKeyId]: oldKey, k2: randomBytes(32) },
        indexKey: oldKeyring.indexKey,
      }),
    );
    const progress: number[] = [];
    const result = await rotateTaxIdKeys(db.url, newVault, {
      batchSize: 4,
      onProgress: (p) => progress.push(p.done),
    });
    expect(result).toEqual({ done: 6, total: 6, remaining: 0 });
    expect(progress).toEqual([4, 6]);

    const rows = await owner.query<{
      tenant_id: string;
      id: string;
      tax_id: string | null;
      tax_id_ciphertext: string;
      tax_id_key_id: string;
      tax_id_index: string;
    }>("select tenant_id, id, tax_id, tax_id_ciphertext, tax_id_key_id, tax_id_index from contacts");
    expect(rows.rows).toHaveLength(6);
    for (const row of rows.rows) {
      const want = expected.get(row.id);
      expect(row.tax_id).toBeNull();
      expect(row.tax_id_key_id).toBe("k2");
      expect(newVault.keyIdOf(row.tax_id_ciphertext)).toBe("k2");
      expect(newVault.decrypt(row.tax_id_ciphertext, { tenantId: row.tenant_id, contactId: row.id })).toBe(
        want?.taxId,
      );
      expect(row.tax_id_index).toBe(newVault.blindIndex(want?.taxId ?? "", row.tenant_id));
    }
    // Nothing left to do: a second run touches no row.
    expect(await rotateTaxIdKeys(db.url, newVault)).toEqual({ done: 0, total: 0, remaining: 0 });
  });

  it("takes the ciphertext over a stale legacy plaintext, and clears the legacy column", async () => {
    await owner.query("delete from contacts");
    const oldRing = generateKeyringForTests();
    const id = randomUUID();
    // Written before encryption existed ("111-11-1111"), then changed through the API ("222-22-2222").
    const current = new TaxIdVault(oldRing).encrypt("222-22-2222", { tenantId: "bravo", contactId: id });
    await insertContact(
      "bravo",
      { tax_id: "111-11-1111", tax_id_ciphertext: current.ciphertext, tax_id_key_id: current.keyId },
      id,
    );
    const oldKey = oldRing.key(oldRing.currentKeyId);
    if (!oldKey) throw new Error("test keyring without its key");
    const rotated = new TaxIdVault(
      TaxIdKeyring.fromParts({
        currentKeyId: "k3",
        keys: { [oldRing.currentKeyId]: oldKey, k3: randomBytes(32) },
        indexKey: oldRing.indexKey,
      }),
    );
    expect(await rotateTaxIdKeys(db.url, rotated)).toEqual({ done: 1, total: 1, remaining: 0 });
    const row = await owner.query<{ tax_id: string | null; tax_id_ciphertext: string }>(
      "select tax_id, tax_id_ciphertext from contacts where tenant_id = 'bravo' and id = $1",
      [id],
    );
    expect(row.rows[0]?.tax_id).toBeNull();
    expect(rotated.decrypt(row.rows[0]?.tax_id_ciphertext ?? "", { tenantId: "bravo", contactId: id })).toBe(
      "222-22-2222",
    );
  });

  it("refuses to run as a role that row-level security binds", async () => {
    await expect(rotateTaxIdKeys(db.appUrl, new TaxIdVault(generateKeyringForTests()))).rejects.toThrow(
      /BYPASSRLS/,
    );
  });
});
