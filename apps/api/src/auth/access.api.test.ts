import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { uploadImport } from "@contacts/client/csv";
import { ApiKeyEntity } from "@contacts/db/entities/api-key.entity";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import type { Permission } from "@contacts/domain/permissions";

import { appRouter } from "../router.js";
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
const allBut = (permission: Permission) => ALL_PERMISSIONS.filter((p) => p !== permission);

async function statusOf(call: Promise<unknown>): Promise<number> {
  return (await rejection(call)).status;
}

describe("API keys", () => {
  it("answers 401 to a revoked key and to an expired key", async () => {
    const key = await h.keyWith("alpha", ["contacts:read", "contacts:write"]);
    const client = h.client(key);
    const c = await client.contacts.create.mutate({ contact: person });
    const listed = await h.alpha.admin.apiKeys.list.query();
    const mine = listed.find((k) => key.startsWith(k.prefix) && k.revokedAt === null && k.name === "limited");
    if (!mine) throw new Error("new key not listed");
    const revoked = await h.alpha.admin.apiKeys.revoke.mutate({ id: mine.id });
    expect(revoked.revokedAt).not.toBeNull();
    const error = await rejection(client.contacts.get.query({ id: c.id }));
    expect(error.status).toBe(401);
    expect(error.errors).toEqual([{ reason: "unauthenticated", field: null }]);

    const expired = h.client(await h.keyWith("alpha", ["contacts:read"], new Date(Date.now() - 1000)));
    expect(await statusOf(expired.contacts.get.query({ id: c.id }))).toBe(401);
  });

  it("are created with the permissions asked for, shown once, listed without secret, and record their use", async () => {
    const created = await h.alpha.admin.apiKeys.create.mutate({
      name: "reporting",
      permissions: ["contacts:read"],
    });
    expect(created.key).toMatch(/^ck_/);
    expect(created.permissions).toEqual(["contacts:read"]);
    const reader = h.client(created.key);
    const c = await h.alpha.contacts.create.mutate({ contact: person });
    expect((await reader.contacts.get.query({ id: c.id })).id).toBe(c.id);
    expect(await statusOf(reader.contacts.create.mutate({ contact: person }))).toBe(403);

    const listed = await h.alpha.admin.apiKeys.list.query();
    const entry = listed.find((k) => k.id === created.id);
    expect(entry).toMatchObject({ name: "reporting", permissions: ["contacts:read"], revokedAt: null });
    expect(entry?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.key);
    const stored = await h.em().findOneOrFail(ApiKeyEntity, { tenantId: "alpha", id: created.id });
    expect(stored.keyHash).not.toContain(created.key.slice(3));
  });

  it("cannot be given a permission the creator does not hold", async () => {
    const admin = h.client(await h.keyWith("alpha", ["admin", "contacts:read"]));
    const error = await rejection(
      admin.admin.apiKeys.create.mutate({
        name: "escalate",
        permissions: ["contacts:read", "contacts:unmask-tax-id"],
      }),
    );
    expect(error.status).toBe(403);
    expect(error.errors).toEqual([{ reason: "forbidden", field: "permissions.1" }]);
  });

  it("rejects bad key requests with the field and reason", async () => {
    for (const [input, field, reason] of [
      [{ name: "", permissions: ["contacts:read"] }, "name", "required"],
      [{ name: "x", permissions: [] }, "permissions", "too_small"],
      [{ name: "x", permissions: ["contacts:fly"] }, "permissions.0", "invalid"],
      [{ name: "x", permissions: ["contacts:read", "contacts:read"] }, "permissions", "invalid"],
      [
        { name: "x", permissions: ["contacts:read"], expiresAt: "2001-01-01T00:00:00Z" },
        "expiresAt",
        "invalid",
      ],
    ] as const) {
      const error = await rejection(h.alpha.admin.apiKeys.create.mutate(input as never));
      expect(error.status).toBe(400);
      expect(error.errors).toContainEqual({ reason, field });
    }
  });
});

describe("service and user tokens", () => {
  it("act in the one tenant of a service token, with its permissions, as the service", async () => {
    const svc = h.client(
      await h.token({
        kind: "service",
        sub: "billing",
        tenants: ["alpha"],
        permissions: ["contacts:read", "contacts:write"],
      }),
    );
    const c = await svc.contacts.create.mutate({ contact: person });
    expect(c.createdBy).toBe("service:billing");
    expect((await h.alpha.contacts.get.query({ id: c.id })).id).toBe(c.id);
    expect(await statusOf(svc.contacts.delete.mutate({ id: c.id }))).toBe(403);
  });

  it("pick the tenant of a multi-tenant service token from X-Tenant-Id, and only among its tenants", async () => {
    const token = await h.token({
      kind: "service",
      sub: "sync",
      tenants: ["alpha", "bravo"],
      permissions: ["contacts:read", "contacts:write"],
    });
    const inBravo = await h
      .client(token, { "x-tenant-id": "bravo" })
      .contacts.create.mutate({ contact: person });
    expect((await h.bravo.contacts.get.query({ id: inBravo.id })).id).toBe(inBravo.id);
    expect(await statusOf(h.alpha.contacts.get.query({ id: inBravo.id }))).toBe(404);
    expect(await statusOf(h.client(token).contacts.get.query({ id: inBravo.id }))).toBe(401);
    expect(
      await statusOf(h.client(token, { "x-tenant-id": "charlie" }).contacts.get.query({ id: inBravo.id })),
    ).toBe(401);
  });

  it("answer 401 when expired, signed with another secret, for another audience, or for an unknown tenant", async () => {
    const claims = { kind: "service", sub: "s", tenants: ["alpha"], permissions: ["contacts:read"] };
    const id = randomUUID();
    for (const token of [
      await h.token(claims, { expiresIn: -60 }),
      await h.token(claims, { secret: "another-secret-that-is-long-enough-1234" }),
      await h.token(claims, { audience: "someone-else" }),
      await h.token({ ...claims, tenants: ["nosuchtenant"] }),
      await h.token({ kind: "user", sub: "u1", tenant: "nosuchtenant" }),
      await h.token({ kind: "robot", sub: "r", tenants: ["alpha"] }),
      "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ]) {
      const error = await rejection(h.client(token).contacts.get.query({ id }));
      expect(error.status).toBe(401);
      expect(error.errors).toEqual([{ reason: "unauthenticated", field: null }]);
    }
  });

  it("give a user token the user's identity and nothing beyond their own contact", async () => {
    // A permissions claim in a user token is ignored: portal users act on their own contact only.
    const user = h.client(
      await h.token({
        kind: "user",
        sub: "portal-42",
        tenant: "alpha",
        permissions: ["contacts:read", "admin"],
      }),
    );
    const mine = await user.me.create.mutate({ contact: person });
    expect(mine.userIds).toEqual(["portal-42"]);
    expect(mine.createdBy).toBe("user:portal-42");
    expect((await user.me.get.query()).id).toBe(mine.id);
    expect(await statusOf(user.contacts.get.query({ id: mine.id }))).toBe(403);
    expect(await statusOf(user.contacts.create.mutate({ contact: person }))).toBe(403);
    expect(await statusOf(user.admin.apiKeys.list.query())).toBe(403);
  });

  it("refuse a service token signed with the user-token key, and a token older than a day", async () => {
    const forged = await h.token(
      { kind: "service", sub: "forged", tenants: "*", permissions: ["admin", "contacts:read"] },
      { secret: h.userTokenSecret },
    );
    expect(await statusOf(h.client(forged, { "x-tenant-id": "alpha" }).contacts.search.query({}))).toBe(401);
    expect(
      await statusOf(h.client(forged).admin.tenants.create.mutate({ tenant: { id: "forged", name: "F" } })),
    ).toBe(401);
    const claims = { kind: "service", sub: "old", tenants: ["alpha"], permissions: ["contacts:read"] };
    const now = Math.floor(Date.now() / 1000);
    const old = await h.token(claims, { issuedAt: now - 2 * 86_400, expiresIn: 3600 });
    expect(await statusOf(h.client(old).contacts.search.query({}))).toBe(401);
    const fresh = await h.token(claims, { issuedAt: now - 3600, expiresIn: 3600 });
    expect(await h.client(fresh).contacts.search.query({})).toHaveProperty("items");
  });
});

describe("tenant administration", () => {
  it("creates tenants only with a platform token holding admin", async () => {
    const platform = h.client(
      await h.token({ kind: "service", sub: "ops", tenants: "*", permissions: ["admin"] }),
    );
    const created = await platform.admin.tenants.create.mutate({
      tenant: { id: "charlie", name: "Charlie Ltd" },
      apiKey: { name: "first", permissions: ["contacts:read", "contacts:write", "admin"] },
    });
    expect(created.tenantId).toBe("charlie");
    const charlie = h.client(created.apiKey.key);
    expect(await charlie.admin.tenants.get.query()).toMatchObject({
      id: "charlie",
      name: "Charlie Ltd",
      contactCount: 0,
    });
    await charlie.contacts.create.mutate({ contact: { ...person, roles: ["BILLING"] } });

    const duplicate = await rejection(
      platform.admin.tenants.create.mutate({ tenant: { id: "charlie", name: "Again" } }),
    );
    expect(duplicate.status).toBe(409);
    expect(duplicate.errors).toEqual([{ reason: "duplicate", field: "tenant.id" }]);

    const invalid = await rejection(
      platform.admin.tenants.create.mutate({ tenant: { id: "Not A Slug", name: "x" } }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.errors.map((e) => e.field)).toEqual(["tenant.id"]);

    const notAdmin = h.client(
      await h.token({ kind: "service", sub: "ops", tenants: "*", permissions: ["contacts:read"] }),
    );
    expect(await statusOf(notAdmin.admin.tenants.create.mutate({ tenant: { id: "delta", name: "D" } }))).toBe(
      403,
    );
    // A tenant's own admin key is not a platform credential.
    expect(await statusOf(h.alpha.admin.tenants.create.mutate({ tenant: { id: "delta", name: "D" } }))).toBe(
      403,
    );
    expect(
      await statusOf(h.client("ck_nope").admin.tenants.create.mutate({ tenant: { id: "delta", name: "D" } })),
    ).toBe(401);
  });

  it("lets a platform token act in any tenant it names with X-Tenant-Id", async () => {
    const token = await h.token({
      kind: "service",
      sub: "ops",
      tenants: "*",
      permissions: ["admin", "contacts:read"],
    });
    expect((await h.client(token, { "x-tenant-id": "bravo" }).admin.tenants.get.query()).id).toBe("bravo");
    expect(await statusOf(h.client(token).admin.tenants.get.query())).toBe(401);
  });

  it("reads and updates the tenant's settings, validating them", async () => {
    const before = await h.bravo.admin.tenants.get.query();
    expect(before.settings).toEqual({
      taxIdAlwaysUnmasked: false,
      limits: { contacts: null, requestsPerMinute: 6000 },
    });
    const platform = await h.platform("bravo");
    const after = await platform.admin.tenants.update.mutate({ settings: { limits: { contacts: 500 } } });
    expect(after.settings).toEqual({
      taxIdAlwaysUnmasked: false,
      limits: { contacts: 500, requestsPerMinute: 6000 },
    });
    const error = await rejection(
      platform.admin.tenants.update.mutate({ settings: { limits: { requestsPerMinute: 0 } } }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ reason: "too_small", field: "settings.limits.requestsPerMinute" }]);
    expect((await h.bravo.admin.tenants.get.query()).settings.limits.requestsPerMinute).toBe(6000);
    await platform.admin.tenants.update.mutate({ settings: { limits: { contacts: null } } });
  });

  it("lets a tenant admin neither lift its own limits nor unmask tax IDs it may not see", async () => {
    const before = await h.bravo.admin.tenants.get.query();
    const limits = await rejection(
      h.bravo.admin.tenants.update.mutate({ settings: { limits: { contacts: null } } }),
    );
    expect(limits.status).toBe(403);
    expect(limits.errors).toEqual([{ reason: "forbidden", field: "settings.limits" }]);
    const unmask = await rejection(
      h.bravo.admin.tenants.update.mutate({ settings: { taxIdAlwaysUnmasked: true } }),
    );
    expect(unmask.status).toBe(403);
    expect(unmask.errors).toEqual([{ reason: "forbidden", field: "settings.taxIdAlwaysUnmasked" }]);
    expect(await h.bravo.admin.tenants.get.query()).toEqual(before);
    // An admin who may see tax IDs may show them to the whole tenant, and anyone admin may rename.
    const unmasker = h.client(await h.keyWith("bravo", ["admin", "contacts:unmask-tax-id"]));
    const on = await unmasker.admin.tenants.update.mutate({
      name: "Bravo",
      settings: { taxIdAlwaysUnmasked: true },
    });
    expect(on.settings.taxIdAlwaysUnmasked).toBe(true);
    await h.bravo.admin.tenants.update.mutate({ settings: { taxIdAlwaysUnmasked: false } });
  });
});

/**
 * The permission matrix: every procedure, the permission (or kind of caller) it needs, and a call.
 * Each is made with a credential holding everything except that, and must answer 403. The
 * completeness check below fails when a procedure is added without a row here.
 */
type Call = (client: ContactsClient, ids: { contact: string }) => Promise<unknown>;
const someContact = { contact: person };
const someAccount = { type: "CLOUD", key: "matrix", name: "Matrix" };
const PERMISSION_MATRIX: {
  procedure: string;
  needs: Permission | "user token" | "platform token";
  call: Call;
  /** The input field the permission guards, when it guards one (else the error names no field). */
  field?: string;
}[] = [
  {
    procedure: "contacts.create",
    needs: "contacts:write",
    call: (c) => c.contacts.create.mutate(someContact),
  },
  {
    procedure: "contacts.get",
    needs: "contacts:read",
    call: (c, ids) => c.contacts.get.query({ id: ids.contact }),
  },
  {
    procedure: "contacts.get",
    needs: "contacts:read",
    call: (c) => c.contacts.get.query({ externalId: "matrix-external" }),
  },
  {
    procedure: "contacts.update",
    needs: "contacts:write",
    call: (c, ids) => c.contacts.update.mutate({ id: ids.contact, contact: person }),
  },
  {
    procedure: "contacts.delete",
    needs: "contacts:delete",
    call: (c, ids) => c.contacts.delete.mutate({ id: ids.contact }),
  },
  { procedure: "contacts.search", needs: "contacts:read", call: (c) => c.contacts.search.query({}) },
  {
    procedure: "contacts.patch",
    needs: "contacts:write",
    call: (c, ids) =>
      c.contacts.patch.mutate({ id: ids.contact, patch: [{ op: "replace", path: "/notes", value: "x" }] }),
  },
  {
    procedure: "contacts.merge",
    needs: "contacts:write",
    call: (c, ids) => c.contacts.merge.mutate({ targetId: ids.contact, sourceIds: [randomUUID()] }),
  },
  {
    procedure: "contacts.duplicates",
    needs: "contacts:read",
    call: (c, ids) => c.contacts.duplicates.query({ id: ids.contact }),
  },
  {
    procedure: "accounts.removeContacts",
    needs: "contacts:delete",
    call: (c) => c.accounts.removeContacts.mutate({ accountId: randomUUID() }),
  },
  {
    procedure: "contacts.list",
    needs: "contacts:read",
    call: (c) => c.contacts.list.query({ accountId: randomUUID() }),
  },
  {
    procedure: "contacts.list",
    needs: "contacts:read",
    call: (c) => c.contacts.list.query({ account: { type: "CLOUD", key: "matrix" } }),
  },
  {
    procedure: "contacts.descendants",
    needs: "contacts:read",
    call: (c) => c.contacts.descendants.query({ accountId: randomUUID() }),
  },
  {
    procedure: "contacts.search",
    needs: "contacts:unmask-tax-id",
    call: (c) => c.contacts.search.query({ taxId: "123-45-6789" }),
    field: "taxId",
  },
  {
    procedure: "contacts.canManage",
    needs: "contacts:read",
    call: (c, ids) => c.contacts.canManage.query({ managerId: ids.contact, emailAddress: "a@example.com" }),
  },
  {
    procedure: "contacts.socialProfile",
    needs: "contacts:read",
    call: (c) => c.contacts.socialProfile.query({ emailAddress: "a@example.com" }),
  },
  {
    procedure: "contacts.history",
    needs: "contacts:read",
    call: (c, ids) => c.contacts.history.query({ id: ids.contact }),
  },
  { procedure: "contacts.changes", needs: "contacts:read", call: (c) => c.contacts.changes.query({}) },
  { procedure: "me.get", needs: "user token", call: (c) => c.me.get.query() },
  { procedure: "me.create", needs: "user token", call: (c) => c.me.create.mutate(someContact) },
  {
    procedure: "admin.tenants.create",
    needs: "platform token",
    call: (c) => c.admin.tenants.create.mutate({ tenant: { id: "echo", name: "E" } }),
  },
  { procedure: "admin.tenants.get", needs: "admin", call: (c) => c.admin.tenants.get.query() },
  {
    procedure: "admin.tenants.update",
    needs: "admin",
    call: (c) => c.admin.tenants.update.mutate({ name: "X" }),
  },
  {
    procedure: "admin.apiKeys.create",
    needs: "admin",
    call: (c) => c.admin.apiKeys.create.mutate({ name: "x", permissions: ["contacts:read"] }),
  },
  { procedure: "admin.apiKeys.list", needs: "admin", call: (c) => c.admin.apiKeys.list.query() },
  {
    procedure: "admin.apiKeys.revoke",
    needs: "admin",
    call: (c) => c.admin.apiKeys.revoke.mutate({ id: randomUUID() }),
  },
  { procedure: "admin.taxIdReveals", needs: "admin", call: (c) => c.admin.taxIdReveals.query() },
  {
    procedure: "admin.webhooks.create",
    needs: "admin",
    call: (c) => c.admin.webhooks.create.mutate({ url: "https://hooks.example.com/matrix" }),
  },
  { procedure: "admin.webhooks.list", needs: "admin", call: (c) => c.admin.webhooks.list.query() },
  {
    procedure: "admin.webhooks.update",
    needs: "admin",
    call: (c) => c.admin.webhooks.update.mutate({ id: randomUUID(), enabled: false }),
  },
  {
    procedure: "admin.webhooks.delete",
    needs: "admin",
    call: (c) => c.admin.webhooks.delete.mutate({ id: randomUUID() }),
  },
  {
    procedure: "admin.webhooks.test",
    needs: "admin",
    call: (c) => c.admin.webhooks.test.mutate({ id: randomUUID() }),
  },
  {
    procedure: "admin.webhooks.deliveries",
    needs: "admin",
    call: (c) => c.admin.webhooks.deliveries.query({ endpointId: randomUUID() }),
  },
  {
    procedure: "admin.webhooks.replay",
    needs: "admin",
    call: (c) => c.admin.webhooks.replay.mutate({ endpointId: randomUUID() }),
  },
  {
    procedure: "accounts.create",
    needs: "accounts:write",
    call: (c) => c.accounts.create.mutate({ account: someAccount }),
  },
  {
    procedure: "accounts.get",
    needs: "accounts:read",
    call: (c) => c.accounts.get.query({ id: randomUUID() }),
  },
  {
    procedure: "accounts.get",
    needs: "accounts:read",
    call: (c) => c.accounts.get.query({ type: "CLOUD", key: "matrix" }),
  },
  {
    procedure: "accounts.update",
    needs: "accounts:write",
    call: (c) => c.accounts.update.mutate({ id: randomUUID(), account: someAccount }),
  },
  {
    procedure: "accounts.delete",
    needs: "accounts:write",
    call: (c) => c.accounts.delete.mutate({ id: randomUUID() }),
  },
  { procedure: "accounts.list", needs: "accounts:read", call: (c) => c.accounts.list.query({}) },
  {
    procedure: "accounts.channels.add",
    needs: "accounts:write",
    call: (c) =>
      c.accounts.channels.add.mutate({
        accountId: randomUUID(),
        channel: { label: "general", telephone: "1" },
      }),
  },
  {
    procedure: "accounts.channels.update",
    needs: "accounts:write",
    call: (c) =>
      c.accounts.channels.update.mutate({
        accountId: randomUUID(),
        id: randomUUID(),
        channel: { telephone: "1" },
      }),
  },
  {
    procedure: "accounts.channels.remove",
    needs: "accounts:write",
    call: (c) => c.accounts.channels.remove.mutate({ accountId: randomUUID(), id: randomUUID() }),
  },
  {
    procedure: "accounts.channels.removeAll",
    needs: "accounts:write",
    call: (c) => c.accounts.channels.removeAll.mutate({ accountId: randomUUID() }),
  },
  {
    procedure: "accounts.channels.get",
    needs: "accounts:read",
    call: (c) => c.accounts.channels.get.query({ accountId: randomUUID(), id: randomUUID() }),
  },
  {
    procedure: "accounts.channels.list",
    needs: "accounts:read",
    call: (c) => c.accounts.channels.list.query({ accountId: randomUUID() }),
  },
  { procedure: "roles.list", needs: "contacts:read", call: (c) => c.roles.list.query() },
  { procedure: "roles.create", needs: "admin", call: (c) => c.roles.create.mutate({ code: "MATRIX" }) },
  { procedure: "roles.delete", needs: "admin", call: (c) => c.roles.delete.mutate({ code: "PRIMARY" }) },
  {
    procedure: "imports.get",
    needs: "imports:write",
    call: (c) => c.imports.get.query({ id: randomUUID() }),
  },
  { procedure: "imports.list", needs: "imports:write", call: (c) => c.imports.list.query({}) },
  {
    procedure: "imports.cancel",
    needs: "imports:write",
    call: (c) => c.imports.cancel.mutate({ id: randomUUID() }),
  },
  {
    procedure: "imports.errors",
    needs: "imports:write",
    call: (c) => c.imports.errors.query({ id: randomUUID() }),
  },
];

describe("the permission matrix", () => {
  it("covers every procedure of the API", () => {
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect([...new Set(PERMISSION_MATRIX.map((row) => row.procedure))].sort()).toEqual(procedures);
  });

  it.each(PERMISSION_MATRIX.map((row) => [`${row.procedure} without ${row.needs}`, row] as const))(
    "answers 403 to %s and changes nothing",
    async (_name, row) => {
      const target = await h.alpha.contacts.create.mutate({ contact: person });
      const before = await h.em().count(ContactEntity, { tenantId: "alpha" });
      const credential =
        row.needs === "user token" || row.needs === "platform token"
          ? await h.keyWith("alpha", ALL_PERMISSIONS)
          : await h.keyWith("alpha", allBut(row.needs));
      const error = await rejection(row.call(h.client(credential), { contact: target.id }));
      expect(error.status).toBe(403);
      expect(error.code).toBe("FORBIDDEN");
      expect(error.errors).toEqual([{ reason: "forbidden", field: row.field ?? null }]);
      expect(await h.em().count(ContactEntity, { tenantId: "alpha" })).toBe(before);
      expect((await h.alpha.contacts.get.query({ id: target.id })).version).toBe(1);
    },
  );
});

/**
 * The BOLA matrix: every procedure that takes an id, called by tenant alpha with one of tenant
 * bravo's ids, answers 404 (or, for an id inside a document, the same `unknown_reference` a
 * non-existent id gets) and changes nothing. Later procedures (accounts, roles, imports, merge
 * sources) add rows here.
 */
interface BravoIds {
  contact: string;
  externalId: string;
  accountRef: { type: string; key: string };
  delegate: string;
  apiKey: string;
  account: string;
  channel: string;
  role: string;
  import: string;
  webhook: string;
  delivery: string;
}

/** An account of alpha's own, to pair with one of bravo's ids. */
async function ownAccount(alpha: ContactsClient): Promise<string> {
  return (await alpha.accounts.create.mutate({ account: { ...someAccount, key: randomUUID() } })).id;
}
const BOLA_MATRIX: {
  name: string;
  call: (alpha: ContactsClient, theirs: BravoIds) => Promise<unknown>;
  field: string;
  status?: number;
}[] = [
  { name: "contacts.get", call: (c, t) => c.contacts.get.query({ id: t.contact }), field: "id" },
  {
    name: "contacts.get (their externalId)",
    call: (c, t) => c.contacts.get.query({ externalId: t.externalId }),
    field: "externalId",
  },
  {
    name: "contacts.update",
    call: (c, t) => c.contacts.update.mutate({ id: t.contact, contact: { ...person, notes: "hijacked" } }),
    field: "id",
  },
  { name: "contacts.delete", call: (c, t) => c.contacts.delete.mutate({ id: t.contact }), field: "id" },
  {
    name: "contacts.patch",
    call: (c, t) =>
      c.contacts.patch.mutate({
        id: t.contact,
        patch: [{ op: "replace", path: "/notes", value: "hijacked" }],
      }),
    field: "id",
  },
  {
    name: "contacts.merge (their contact as target)",
    call: async (c, t) =>
      c.contacts.merge.mutate({
        targetId: t.contact,
        sourceIds: [(await c.contacts.create.mutate({ contact: person })).id],
      }),
    field: "targetId",
  },
  {
    name: "contacts.merge (their contact as source)",
    call: async (c, t) =>
      c.contacts.merge.mutate({
        targetId: (await c.contacts.create.mutate({ contact: person })).id,
        sourceIds: [t.contact],
      }),
    field: "sourceIds.0",
  },
  {
    name: "contacts.duplicates",
    call: (c, t) => c.contacts.duplicates.query({ id: t.contact }),
    field: "id",
  },
  {
    name: "accounts.removeContacts (their account)",
    call: (c, t) => c.accounts.removeContacts.mutate({ accountId: t.account }),
    field: "accountId",
  },
  { name: "contacts.history", call: (c, t) => c.contacts.history.query({ id: t.contact }), field: "id" },
  {
    name: "contacts.canManage (delegate as manager)",
    call: (c, t) => c.contacts.canManage.query({ managerId: t.delegate, emailAddress: "bola@example.com" }),
    field: "managerId",
  },
  {
    name: "contacts.create with their delegate",
    call: (c, t) => c.contacts.create.mutate({ contact: { ...person, portalDelegates: [t.delegate] } }),
    field: "contact.portalDelegates.0",
    status: 400,
  },
  {
    name: "contacts.create with their spouse",
    call: (c, t) => c.contacts.create.mutate({ contact: { ...person, spouseId: t.contact } }),
    field: "contact.spouseId",
    status: 400,
  },
  {
    name: "admin.apiKeys.revoke",
    call: (c, t) => c.admin.apiKeys.revoke.mutate({ id: t.apiKey }),
    field: "id",
  },
  {
    name: "contacts.list (their account)",
    call: (c, t) => c.contacts.list.query({ accountId: t.account }),
    field: "accountId",
  },
  {
    name: "contacts.list (their account's type and key)",
    call: (c, t) => c.contacts.list.query({ account: t.accountRef }),
    field: "account.key",
  },
  {
    name: "contacts.descendants (their account)",
    call: (c, t) => c.contacts.descendants.query({ accountId: t.account }),
    field: "accountId",
  },
  { name: "accounts.get", call: (c, t) => c.accounts.get.query({ id: t.account }), field: "id" },
  {
    name: "accounts.get (their type and key)",
    call: (c, t) => c.accounts.get.query(t.accountRef),
    field: "key",
  },
  {
    name: "accounts.update",
    call: (c, t) =>
      c.accounts.update.mutate({ id: t.account, account: { ...someAccount, name: "Hijacked" } }),
    field: "id",
  },
  { name: "accounts.delete", call: (c, t) => c.accounts.delete.mutate({ id: t.account }), field: "id" },
  {
    name: "accounts.create under their account",
    call: (c, t) =>
      c.accounts.create.mutate({ account: { ...someAccount, key: randomUUID(), parentId: t.account } }),
    field: "account.parentId",
    status: 400,
  },
  {
    name: "accounts.update under their account",
    call: async (c, t) =>
      c.accounts.update.mutate({
        id: await ownAccount(c),
        account: { ...someAccount, key: randomUUID(), parentId: t.account },
      }),
    field: "account.parentId",
    status: 400,
  },
  {
    name: "contacts.create on their account",
    call: (c, t) => c.contacts.create.mutate({ contact: { ...person, accountId: t.account } }),
    field: "contact.accountId",
    status: 400,
  },
  {
    name: "accounts.channels.list",
    call: (c, t) => c.accounts.channels.list.query({ accountId: t.account }),
    field: "accountId",
  },
  {
    name: "accounts.channels.get",
    call: (c, t) => c.accounts.channels.get.query({ accountId: t.account, id: t.channel }),
    field: "accountId",
  },
  {
    name: "accounts.channels.get (their channel on our account)",
    call: async (c, t) => c.accounts.channels.get.query({ accountId: await ownAccount(c), id: t.channel }),
    field: "id",
  },
  {
    name: "accounts.channels.add",
    call: (c, t) =>
      c.accounts.channels.add.mutate({ accountId: t.account, channel: { label: "general", telephone: "1" } }),
    field: "accountId",
  },
  {
    name: "accounts.channels.update",
    call: (c, t) =>
      c.accounts.channels.update.mutate({ accountId: t.account, id: t.channel, channel: { telephone: "1" } }),
    field: "accountId",
  },
  {
    name: "accounts.channels.update (their channel on our account)",
    call: async (c, t) =>
      c.accounts.channels.update.mutate({
        accountId: await ownAccount(c),
        id: t.channel,
        channel: { telephone: "1" },
      }),
    field: "id",
  },
  {
    name: "accounts.channels.remove",
    call: (c, t) => c.accounts.channels.remove.mutate({ accountId: t.account, id: t.channel }),
    field: "accountId",
  },
  {
    name: "accounts.channels.remove (their channel on our account)",
    call: async (c, t) =>
      c.accounts.channels.remove.mutate({ accountId: await ownAccount(c), id: t.channel }),
    field: "id",
  },
  {
    name: "accounts.channels.removeAll",
    call: (c, t) => c.accounts.channels.removeAll.mutate({ accountId: t.account }),
    field: "accountId",
  },
  { name: "roles.delete", call: (c, t) => c.roles.delete.mutate({ code: t.role }), field: "code" },
  {
    name: "contacts.create with their role",
    call: (c, t) => c.contacts.create.mutate({ contact: { ...person, roles: [t.role] } }),
    field: "contact.roles.0",
    status: 400,
  },
  { name: "imports.get", call: (c, t) => c.imports.get.query({ id: t.import }), field: "id" },
  { name: "imports.cancel", call: (c, t) => c.imports.cancel.mutate({ id: t.import }), field: "id" },
  { name: "imports.errors", call: (c, t) => c.imports.errors.query({ id: t.import }), field: "id" },
  {
    name: "admin.webhooks.update",
    call: (c, t) => c.admin.webhooks.update.mutate({ id: t.webhook, url: "https://hijack.example.com/" }),
    field: "id",
  },
  {
    name: "admin.webhooks.delete",
    call: (c, t) => c.admin.webhooks.delete.mutate({ id: t.webhook }),
    field: "id",
  },
  {
    name: "admin.webhooks.test",
    call: (c, t) => c.admin.webhooks.test.mutate({ id: t.webhook }),
    field: "id",
  },
  {
    name: "admin.webhooks.deliveries",
    call: (c, t) => c.admin.webhooks.deliveries.query({ endpointId: t.webhook }),
    field: "endpointId",
  },
  {
    name: "admin.webhooks.replay",
    call: (c, t) => c.admin.webhooks.replay.mutate({ endpointId: t.webhook, deliveryId: t.delivery }),
    field: "endpointId",
  },
  {
    name: "admin.webhooks.replay (their delivery on our endpoint)",
    call: async (c, t) =>
      c.admin.webhooks.replay.mutate({
        endpointId: (await c.admin.webhooks.create.mutate({ url: "https://hooks.example.com/own" })).id,
        deliveryId: t.delivery,
      }),
    field: "deliveryId",
  },
  {
    name: "admin.tenants.get",
    call: (c) => c.admin.tenants.get.query({ tenantId: "bravo" }),
    field: "tenantId",
  },
  {
    name: "admin.tenants.update",
    call: (c) => c.admin.tenants.update.mutate({ tenantId: "bravo", name: "Hijacked" }),
    field: "tenantId",
  },
];

describe("the BOLA matrix", () => {
  let theirs: BravoIds;
  let snapshot: () => Promise<unknown>;

  beforeAll(async () => {
    const delegate = await h.bravo.contacts.create.mutate({ contact: { ...person, firstName: "Delegate" } });
    const contact = await h.bravo.contacts.create.mutate({
      contact: {
        ...person,
        emails: [{ address: "bola@example.com" }],
        portalDelegates: [delegate.id],
        taxId: "555-44-3333",
        externalId: "bravo-external",
      },
    });
    const key = await h.bravo.admin.apiKeys.create.mutate({ name: "bola", permissions: ["contacts:read"] });
    const account = await h.bravo.accounts.create.mutate({ account: someAccount });
    await h.bravo.accounts.create.mutate({ account: { ...someAccount, key: "child", parentId: account.id } });
    const channel = await h.bravo.accounts.channels.add.mutate({
      accountId: account.id,
      channel: { label: "fax", telephone: "+1 210 555 0199" },
    });
    const role = await h.bravo.roles.create.mutate({ code: "BRAVO_ONLY" });
    await h.bravo.contacts.create.mutate({
      contact: { ...person, accountId: account.id, roles: [role.code] },
    });
    const upload = await uploadImport(
      { url: h.url, apiKey: await h.keyWith("bravo", ["imports:write"]) },
      new TextEncoder().encode("First Name,Last Name\nBola,Bravo\n"),
    );
    const webhook = await h.bravo.admin.webhooks.create.mutate({ url: "https://hooks.example.com/bravo" });
    const delivery = await h.bravo.admin.webhooks.test.mutate({ id: webhook.id });
    theirs = {
      webhook: webhook.id,
      delivery: delivery.id,
      import: upload.importId,
      contact: contact.id,
      externalId: "bravo-external",
      accountRef: { type: account.type, key: account.key },
      delegate: delegate.id,
      apiKey: key.id,
      account: account.id,
      channel: channel.id,
      role: role.code,
    };
    snapshot = async () => {
      const accounts = await h.bravo.accounts.list.query({ limit: 1000 });
      return {
        contacts: await h.bravo.contacts.search.query({ limit: 1000 }),
        keys: await h.bravo.admin.apiKeys.list.query(),
        tenant: await h.bravo.admin.tenants.get.query(),
        accounts,
        channels: await Promise.all(
          accounts.items.map((a) => h.bravo.accounts.channels.list.query({ accountId: a.id })),
        ),
        roles: await h.bravo.roles.list.query(),
        imports: await h.bravo.imports.list.query({ limit: 1000 }),
        webhooks: await h.bravo.admin.webhooks.list.query(),
        deliveries: await h.bravo.admin.webhooks.deliveries.query({ endpointId: webhook.id }),
      };
    };
  });

  it.each(BOLA_MATRIX.map((row) => [row.name, row] as const))(
    "%s with another tenant's id is not found and changes nothing",
    async (_name, row) => {
      const before = await snapshot();
      const error = await rejection(row.call(h.alpha, theirs));
      expect(error.status).toBe(row.status ?? 404);
      expect(error.errors).toEqual([
        { reason: row.status === 400 ? "unknown_reference" : "not_found", field: row.field },
      ]);
      expect(await snapshot()).toEqual(before);
    },
  );

  it("filters by another tenant's ids find nothing", async () => {
    expect(await h.alpha.contacts.search.query({ ids: [theirs.contact, theirs.delegate] })).toEqual({
      items: [],
      nextCursor: null,
    });
    expect(await h.alpha.accounts.list.query({ parentId: theirs.account })).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it("keeps another tenant's events out of the change feed (contacts.changes takes no id)", async () => {
    const feed = await h.alpha.contacts.changes.query({ limit: 1000 });
    const bravoIds = new Set([theirs.contact, theirs.delegate]);
    expect(feed.items.filter((e) => bravoIds.has(e.contactId))).toEqual([]);
  });
});
