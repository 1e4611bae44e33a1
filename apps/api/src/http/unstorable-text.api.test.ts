import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

/**
 * PostgreSQL refuses U+0000 in text and jsonb, and a lone UTF-16 surrogate has no UTF-8 form: either
 * used to reach the database and answer 500. Every way in refuses them with 400 `invalid` on the field.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const NUL = "Ada\u0000";
const LONE = "Ada\uD800";

async function contactCount(tenantId: string): Promise<number> {
  const rows = await h
    .em()
    .getConnection()
    .execute<{ n: string }[]>("select count(*)::text as n from contacts where tenant_id = ?", [tenantId]);
  return Number(rows[0]?.n);
}

describe("text PostgreSQL cannot store", () => {
  it("is 400 invalid on the field of every contact write, and nothing is stored", async () => {
    const before = await contactCount("alpha");
    const person = { subtype: "person" as const, lastName: "Lovelace" };
    const cases: [() => Promise<unknown>, string][] = [
      [() => h.alpha.contacts.create.mutate({ contact: { ...person, firstName: NUL } }), "contact.firstName"],
      [() => h.alpha.contacts.create.mutate({ contact: { ...person, notes: LONE } }), "contact.notes"],
      [
        () => h.alpha.contacts.create.mutate({ contact: { ...person, externalId: NUL } }),
        "contact.externalId",
      ],
      [
        () => h.alpha.contacts.create.mutate({ contact: { ...person, customFields: { [`k${NUL}`]: "v" } } }),
        `contact.customFields.k${NUL}`,
      ],
      [
        () => h.alpha.contacts.create.mutate({ contact: { ...person, customFields: { tier: LONE } } }),
        "contact.customFields.tier",
      ],
      [
        () =>
          h.alpha.contacts.create.mutate({
            contact: { ...person, emails: [{ address: "a@example.com", label: `work${NUL}` as never }] },
          }),
        "contact.emails.0.label",
      ],
    ];
    for (const [call, field] of cases) {
      const e = await rejection(call());
      expect([e.status, e.errors]).toEqual([400, [{ reason: "invalid", field }]]);
    }
    expect(await contactCount("alpha")).toBe(before);
  });

  it("is 400 on a patch value, a replace, searches, lists and lookups, leaving the contact as it was", async () => {
    const c = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Grace", lastName: "Hopper" },
    });
    const cases: [() => Promise<unknown>, string][] = [
      [
        () =>
          h.alpha.contacts.patch.mutate({
            id: c.id,
            expectedVersion: 1,
            patch: [{ op: "replace", path: "/firstName", value: LONE }],
          }),
        "patch.0.value",
      ],
      [
        () =>
          h.alpha.contacts.patch.mutate({
            id: c.id,
            expectedVersion: 1,
            patch: [{ op: "add", path: `/customFields/a${NUL}`, value: "x" }],
          }),
        "patch.0.path",
      ],
      [
        () =>
          h.alpha.contacts.update.mutate({
            id: c.id,
            expectedVersion: 1,
            contact: { subtype: "person", firstName: "Grace", lastName: NUL },
          }),
        "contact.lastName",
      ],
      [() => h.alpha.contacts.search.query({ q: NUL }), "q"],
      [() => h.alpha.contacts.search.query({ lastName: LONE }), "lastName"],
      [() => h.alpha.contacts.search.query({ cursor: NUL }), "cursor"],
      [() => h.alpha.contacts.list.query({ accountId: randomUUID(), cursor: LONE }), "cursor"],
      [() => h.alpha.contacts.socialProfile.query({ emailAddress: `a${NUL}@example.com` }), "emailAddress"],
    ];
    for (const [call, field] of cases) {
      const e = await rejection(call());
      expect([e.status, e.errors]).toEqual([400, [{ reason: "invalid", field }]]);
    }
    const after = await h.alpha.contacts.get.query({ id: c.id });
    expect([after.version, after.firstName, after.lastName]).toEqual([1, "Grace", "Hopper"]);
  });

  it("is 400 on account, channel, role, tenant and key text", async () => {
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key: `k-${randomUUID()}`, name: "Acme" },
    });
    const platform = await h.platform("alpha");
    const cases: [() => Promise<unknown>, string][] = [
      [
        () => h.alpha.accounts.create.mutate({ account: { type: "CLOUD", key: NUL, name: "A" } }),
        "account.key",
      ],
      [
        () => h.alpha.accounts.create.mutate({ account: { type: "CLOUD", key: "k-lone", name: LONE } }),
        "account.name",
      ],
      [
        () =>
          h.alpha.accounts.update.mutate({
            id: account.id,
            expectedVersion: account.version,
            account: { type: "CLOUD", key: account.key, name: NUL, parentId: null },
          }),
        "account.name",
      ],
      [() => h.alpha.roles.create.mutate({ code: "NULROLE", description: NUL }), "description"],
      [
        () => platform.admin.tenants.create.mutate({ tenant: { id: "nul-tenant", name: NUL } }),
        "tenant.name",
      ],
      [
        () => h.alpha.admin.apiKeys.create.mutate({ name: LONE, permissions: ["contacts:read"] } as never),
        "name",
      ],
    ];
    for (const [call, field] of cases) {
      const e = await rejection(call());
      expect([e.status, e.errors]).toEqual([400, [{ reason: "invalid", field }]]);
    }
    expect((await h.alpha.accounts.get.query({ id: account.id })).name).toBe("Acme");
    expect((await h.alpha.roles.list.query()).some((r) => r.code === "NULROLE")).toBe(false);
  });

  it("is a JSON 400 on the import route's fileName and the export's search filter, storing nothing", async () => {
    const auth = { authorization: `Bearer ${h.alphaKey}` };
    const upload = await fetch(`${h.url}/v1/imports?fileName=${encodeURIComponent(`a${NUL}.csv`)}`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: "First Name,Last Name\nAda,Lovelace\n",
    });
    expect(upload.status).toBe(400);
    expect(((await upload.json()) as { errors: unknown }).errors).toEqual([
      { reason: "invalid", field: "fileName" },
    ]);
    const imports = await h
      .em()
      .getConnection()
      .execute<{ n: string }[]>("select count(*)::text as n from imports where tenant_id = 'alpha'");
    expect(imports[0]?.n).toBe("0");

    const search = encodeURIComponent(JSON.stringify({ q: `x${NUL}` }));
    const exported = await fetch(`${h.url}/v1/exports/contacts.csv?search=${search}`, { headers: auth });
    expect(exported.status).toBe(400);
    expect(((await exported.json()) as { errors: unknown }).errors).toEqual([
      { reason: "invalid", field: "search.q" },
    ]);
  });
});
