import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RoleEntity } from "@contacts/db/entities/role.entity";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const person = { subtype: "person" as const, firstName: "Grace", lastName: "Hopper" };

async function expectError(
  call: Promise<unknown>,
  status: number,
  errors: { reason: string; field: string | null }[],
  details?: Record<string, unknown>,
) {
  const error = await rejection(call);
  expect({ status: error.status, errors: error.errors }).toEqual({ status, errors });
  if (details) expect(error.details).toEqual(details);
}

async function codes(client = h.alpha) {
  return (await client.roles.list.query()).map((r) => r.code);
}

describe("the role catalogue", () => {
  it("starts with PRIMARY, BILLING, TECHNICAL, ADMINISTRATIVE for every new tenant", async () => {
    const platform = await h.platform("alpha");
    const created = await platform.admin.tenants.create.mutate({ tenant: { id: "fresh", name: "Fresh" } });
    const fresh = h.client(created.apiKey.key);
    const roles = await fresh.roles.list.query();
    expect(roles.map((r) => r.code).sort()).toEqual(["ADMINISTRATIVE", "BILLING", "PRIMARY", "TECHNICAL"]);
    for (const role of roles) {
      expect(role).toEqual({ code: role.code, description: null, createdAt: expect.any(String) as unknown });
    }
    // In a stable order (by code).
    expect(roles.map((r) => r.code)).toEqual(["ADMINISTRATIVE", "BILLING", "PRIMARY", "TECHNICAL"]);
  });

  it("adds a role the tenant's contacts can then hold", async () => {
    const role = await h.alpha.roles.create.mutate({ code: "EMERGENCY", description: " Call at night " });
    expect(role).toEqual({
      code: "EMERGENCY",
      description: "Call at night",
      createdAt: expect.any(String) as unknown,
    });
    expect(await h.alpha.roles.list.query()).toContainEqual(role);
    expect((await h.alpha.roles.create.mutate({ code: "PLAIN" })).description).toBeNull();
    const contact = await h.alpha.contacts.create.mutate({ contact: { ...person, roles: ["EMERGENCY"] } });
    expect(contact.roles).toEqual(["EMERGENCY"]);
    // Only in this tenant's catalogue.
    expect(await codes(h.bravo)).not.toContain("EMERGENCY");
    await expectError(h.bravo.contacts.create.mutate({ contact: { ...person, roles: ["EMERGENCY"] } }), 400, [
      { reason: "unknown_reference", field: "contact.roles.0" },
    ]);
  });

  it("refuses an existing code with 409 duplicate on code", async () => {
    await h.alpha.roles.create.mutate({ code: "TWICE" });
    for (const code of ["TWICE", "PRIMARY"]) {
      await expectError(h.alpha.roles.create.mutate({ code, description: "again" }), 409, [
        { reason: "duplicate", field: "code" },
      ]);
    }
    expect((await codes()).filter((c) => c === "TWICE")).toHaveLength(1);
    // Another tenant may have the same code.
    expect((await h.bravo.roles.create.mutate({ code: "TWICE" })).code).toBe("TWICE");
  });

  it("rejects a bad role naming the field, and stores nothing", async () => {
    const before = await h.em().count(RoleEntity, { tenantId: "alpha" });
    for (const [input, errors] of [
      [{ code: "lower" }, [{ reason: "invalid", field: "code" }]],
      [{ code: "1ST" }, [{ reason: "invalid", field: "code" }]],
      [{ code: "A".repeat(51) }, [{ reason: "invalid", field: "code" }]],
      [{}, [{ reason: "required", field: "code" }]],
      [{ code: "OK", description: "d".repeat(256) }, [{ reason: "too_long", field: "description" }]],
      [{ code: "OK", color: "red" }, [{ reason: "unknown_field", field: "color" }]],
    ] as const) {
      await expectError(h.alpha.roles.create.mutate(input as never), 400, [...errors]);
    }
    expect(await h.em().count(RoleEntity, { tenantId: "alpha" })).toBe(before);
    await expectError(h.alpha.roles.delete.mutate({ code: "lower" }), 400, [
      { reason: "invalid", field: "code" },
    ]);
  });

  it("deletes an unused role; an unknown code is 404 on code", async () => {
    await h.alpha.roles.create.mutate({ code: "TEMPORARY" });
    expect(await h.alpha.roles.delete.mutate({ code: "TEMPORARY" })).toEqual({
      code: "TEMPORARY",
      deleted: true,
    });
    expect(await codes()).not.toContain("TEMPORARY");
    await expectError(h.alpha.roles.delete.mutate({ code: "TEMPORARY" }), 404, [
      { reason: "not_found", field: "code" },
    ]);
    await expectError(h.alpha.contacts.create.mutate({ contact: { ...person, roles: ["TEMPORARY"] } }), 400, [
      { reason: "unknown_reference", field: "contact.roles.0" },
    ]);
  });

  it("refuses to delete a role contacts hold, naming how many, until none does", async () => {
    await h.alpha.roles.create.mutate({ code: "HELD" });
    const holders = [
      await h.alpha.contacts.create.mutate({ contact: { ...person, roles: ["HELD"] } }),
      await h.alpha.contacts.create.mutate({ contact: { ...person, roles: ["PRIMARY", "HELD"] } }),
    ];
    // Another tenant's contacts with the same code do not count.
    await h.bravo.roles.create.mutate({ code: "HELD" });
    await h.bravo.contacts.create.mutate({ contact: { ...person, roles: ["HELD"] } });

    await expectError(
      h.alpha.roles.delete.mutate({ code: "HELD" }),
      409,
      [{ reason: "referenced", field: "code" }],
      {
        contacts: 2,
      },
    );
    const [first, second] = holders;
    if (!first || !second) throw new Error("no holders");
    await h.alpha.contacts.update.mutate({ id: first.id, contact: person });
    await expectError(
      h.alpha.roles.delete.mutate({ code: "HELD" }),
      409,
      [{ reason: "referenced", field: "code" }],
      {
        contacts: 1,
      },
    );
    expect(await codes()).toContain("HELD");
    await h.alpha.contacts.delete.mutate({ id: second.id });
    await h.alpha.roles.delete.mutate({ code: "HELD" });
    expect(await codes()).not.toContain("HELD");
    expect(await codes(h.bravo)).toContain("HELD");
  });

  it("lets contacts:read list the catalogue, and only admin change it", async () => {
    const reader = h.client(await h.keyWith("alpha", ["contacts:read"]));
    expect(await codes(reader)).toContain("PRIMARY");
    const writer = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:write", "accounts:write"]));
    await expectError(writer.roles.create.mutate({ code: "NOPE" }), 403, [
      { reason: "forbidden", field: null },
    ]);
    await expectError(writer.roles.delete.mutate({ code: "PRIMARY" }), 403, [
      { reason: "forbidden", field: null },
    ]);
    await expectError(h.client(await h.keyWith("alpha", ["admin"])).roles.list.query(), 403, [
      { reason: "forbidden", field: null },
    ]);
    expect(await codes()).toContain("PRIMARY");
    expect(await codes()).not.toContain("NOPE");
  });
});
