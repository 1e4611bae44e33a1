import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ContactEntity } from "./entities/contact.entity.js";
import { TenantEntity } from "./entities/tenant.entity.js";
import { createOrm, migrations } from "./orm.js";
import type { MikroORM } from "./orm.js";
import { createTestDatabase } from "./testing/test-database.js";
import type { TestDatabase } from "./testing/test-database.js";

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

describe("schema", () => {
  it("is built by the committed migrations and matches the entities", async () => {
    const executed = await orm.migrator.getExecutedMigrations();
    expect(executed.map((m) => m.name)).toEqual(migrations.map((m) => m.name));
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    // The migration declares keys, checks and indexes (and `text` where MikroORM would say
    // varchar) that the entities leave out; what matters is that no entity column is missing.
    expect(diff).not.toMatch(/add column/i);
  });

  it("leads every primary and foreign key with tenant_id", async () => {
    const conn = orm.em.getConnection();
    const keys = await conn.execute<{ table_name: string; constraint_type: string; first_column: string }[]>(`
      select tc.table_name, tc.constraint_type, kcu.column_name as first_column
      from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu
        on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema and kcu.ordinal_position = 1
      where tc.table_schema = 'public' and tc.constraint_type in ('PRIMARY KEY', 'FOREIGN KEY')
        and tc.table_name not in ('tenants', 'mikro_orm_migrations')`);
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys)
      expect({ ...key, first_column: key.first_column }).toEqual({ ...key, first_column: "tenant_id" });
  });

  it("stores and reloads a contact row, bumping version on change", async () => {
    const em = orm.em.fork();
    em.create(TenantEntity, {
      id: "acme",
      name: "Acme",
      settings: { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: 100 } },
    });
    await em.flush();
    const id = randomUUID();
    const now = new Date();
    const contact = em.create(ContactEntity, {
      tenantId: "acme",
      id,
      number: 1,
      subtype: "person",
      firstName: "Ada",
      lastName: "Lovelace",
      roles: ["PRIMARY"],
      emails: [{ address: "ada@example.com", label: "work", primary: true }],
      phones: [],
      addresses: [],
      status: "active",
      social: { website: null, linkedin: null, twitter: null, facebook: null, instagram: null },
      notificationPreferences: {
        doNotCall: true,
        doNotEmail: false,
        doNotFax: false,
        doNotMail: false,
        doNotSurvey: false,
      },
      userIds: [],
      portalDelegates: [],
      mergedIds: [],
      customFields: { tier: "gold" },
      locked: false,
      integration: false,
      createdAt: now,
      createdBy: "test",
      updatedAt: now,
      updatedBy: "test",
    });
    await em.flush();
    expect(contact.version).toBe(1);
    contact.nickname = "Countess";
    await em.flush();
    expect(contact.version).toBe(2);

    const reloaded = await orm.em.fork().findOneOrFail(ContactEntity, { tenantId: "acme", id });
    expect(reloaded).toMatchObject({
      firstName: "Ada",
      nickname: "Countess",
      version: 2,
      roles: ["PRIMARY"],
      customFields: { tier: "gold" },
    });
    expect(reloaded.notificationPreferences.doNotCall).toBe(true);
  });
});
