import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { createOrm } from "@contacts/db/orm";
import type { MikroORM } from "@contacts/db/orm";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { CONTACT_COMPUTED_FIELDS, CONTACT_FIELDS } from "@contacts/domain/contact";

import { CONTACT_COLUMNS, PAGE_COLUMN_NAMES } from "./columns.js";
import { DOCUMENT_SOURCES } from "./document.js";

let db: TestDatabase;
let orm: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await createOrm({ url: db.url });
});

afterAll(async () => {
  await orm.close();
  await db.drop();
});

/** What `information_schema.columns.udt_name` says for each kind. */
const UDT_OF_KIND: Record<string, string[]> = {
  text: ["text", "varchar"],
  uuid: ["uuid"],
  integer: ["int4"],
  bigint: ["int8"],
  boolean: ["bool"],
  date: ["date"],
  timestamp: ["timestamptz"],
  json: ["jsonb"],
  "text[]": ["_text", "_varchar"],
  "uuid[]": ["_uuid"],
};

describe("the contacts column map", () => {
  it("maps every property of the entity, by the column name MikroORM's own discovery gives it", () => {
    const discovered = orm.getMetadata().get("Contact").properties;
    expect(CONTACT_COLUMNS.map((c) => c.property)).toEqual(Object.keys(ContactEntity.meta.properties));
    for (const c of CONTACT_COLUMNS) {
      expect({ property: c.property, column: discovered[c.property]?.fieldNames[0] }).toEqual({
        property: c.property,
        column: c.column,
      });
    }
  });

  it("gives every column the type and nullability the migrated table has", async () => {
    const columns = await orm.em
      .getConnection()
      .execute<{ column_name: string; udt_name: string; is_nullable: "YES" | "NO" }[]>(
        `select column_name, udt_name, is_nullable from information_schema.columns
          where table_schema = current_schema() and table_name = 'contacts'`,
      );
    const table = new Map(columns.map((c) => [c.column_name, c]));
    for (const c of CONTACT_COLUMNS) {
      const stored = table.get(c.column);
      expect({ column: c.column, udt: UDT_OF_KIND[c.kind]?.includes(stored?.udt_name ?? "missing") }).toEqual(
        {
          column: c.column,
          udt: true,
        },
      );
      if (!c.nullable)
        expect({ column: c.column, nullable: stored?.is_nullable }).toEqual({
          column: c.column,
          nullable: "NO",
        });
    }
  });

  it("reads every column on a page but the match keys", () => {
    expect(CONTACT_COLUMNS.map((c) => c.column).filter((c) => !PAGE_COLUMN_NAMES.includes(c))).toEqual([
      "match_keys",
    ]);
  });

  it("gives every stored field of the contact document a source: a column, or one named rule", () => {
    const computed = new Set<string>(CONTACT_COMPUTED_FIELDS);
    const stored = CONTACT_FIELDS.filter((f) => !computed.has(f));
    expect(Object.keys(DOCUMENT_SOURCES)).toEqual(stored);
  });
});
