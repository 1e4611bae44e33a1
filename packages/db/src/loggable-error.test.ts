import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { TenantEntity } from "./entities/tenant.entity.js";
import { loggableError } from "./loggable-error.js";
import { createOrm } from "./orm.js";
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

async function thrown(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error("expected the work to fail");
}

const SECRET = "tenant-with-a-secret-name-4242";

describe("loggableError", () => {
  it("keeps a driver error's SQLSTATE, constraint and frames, and none of the statement's values", async () => {
    const row = { id: SECRET, name: `name ${SECRET}`, settings: {} };
    await orm.em.fork().insert(TenantEntity, row as never);
    const error = await thrown(() => orm.em.fork().insert(TenantEntity, row as never));
    // The raw error does carry the values, in its message and the stack's first lines.
    expect(String((error as Error).stack)).toContain(SECRET);

    const logged = loggableError(error);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
    expect(logged).toMatchObject({
      errorClass: "UniqueConstraintViolationException",
      code: "23505",
      constraint: "tenants_pkey",
      table: "tenants",
    });
    expect(logged.frames?.split("\n").every((line) => /^\s+at /.test(line))).toBe(true);
  });

  it("drops a multi-line message of a plain error and keeps its frames", () => {
    const error = new TypeError(`bad value\n${SECRET}\nmore`);
    const logged = loggableError(error);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
    expect(logged.errorClass).toBe("TypeError");
    expect(logged.frames).toMatch(/^\s+at /);
  });

  it("names the type of a thrown non-object", () => {
    expect(loggableError(SECRET)).toEqual({ errorClass: "string" });
  });
});
