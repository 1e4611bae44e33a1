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

const ginIndexes = async (): Promise<string[]> =>
  (
    await owner.query<{ name: string }>(
      `select i.relname as name from pg_index x join pg_class i on i.oid = x.indexrelid
         join pg_class t on t.oid = x.indrelid join pg_am a on a.oid = i.relam
        where t.relname = 'contacts' and a.amname = 'gin' order by 1`,
    )
  ).rows.map((r) => r.name);

describe("migration 24 (the state and country GIN indexes go; their postings serve them)", () => {
  it("drops the state and country GIN indexes, keeps the word and city ones, and puts them back down", async () => {
    const kept = [
      "contacts_city_idx",
      "contacts_email_keys_idx",
      "contacts_match_keys_idx",
      "contacts_roles_idx",
      "contacts_search_words_idx",
      "contacts_user_ids_idx",
    ];
    expect(await ginIndexes()).toEqual(kept);
    const orm = await createOrm({ url: db.url, poolMax: 1 });
    try {
      // Back to just before migration 24, whatever came after it.
      while (
        (await orm.migrator.getExecutedMigrations()).at(-1)?.name !==
        "Migration20261123000023_search_index_maintenance"
      )
        await orm.migrator.down();
      expect(await ginIndexes()).toEqual([...kept, "contacts_country_idx", "contacts_state_idx"].sort());
      await orm.migrator.up();
      expect(await ginIndexes()).toEqual(kept);
    } finally {
      await orm.close();
    }
  });
});
