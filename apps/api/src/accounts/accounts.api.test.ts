import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { AccountChannelEntity, AccountEntity } from "@contacts/db/entities/account.entity";
import type { AccountInput, ChannelInput } from "@contacts/domain/account";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

/** A new account input with a key no other test uses. */
function anAccount(overrides: Partial<AccountInput> = {}): AccountInput {
  return { type: "CLOUD", key: `k-${randomUUID()}`, name: "Acme Cloud", ...overrides };
}

async function create(client: ContactsClient, overrides: Partial<AccountInput> = {}) {
  return client.accounts.create.mutate({ account: anAccount(overrides) });
}

/** The editable part of an account read back (what update takes). */
function editable(account: { type: string; key: string; name: string; parentId: string | null }) {
  return { type: account.type, key: account.key, name: account.name, parentId: account.parentId };
}

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

const person = { subtype: "person" as const, firstName: "Grace", lastName: "Hopper" };

describe("accounts CRUD", () => {
  it("creates, reads, replaces and deletes an account, with versions and audit fields", async () => {
    const created = await h.alpha.accounts.create.mutate({
      account: { type: " CLOUD ", key: " 123456 ", name: " Acme Cloud " },
    });
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      type: "CLOUD",
      key: "123456",
      name: "Acme Cloud",
      parentId: null,
      address: null,
      version: 1,
      createdAt: expect.any(String) as unknown,
      createdBy: expect.stringMatching(/^apikey:/) as unknown,
      updatedAt: created.createdAt,
      updatedBy: created.createdBy,
    });
    expect(await h.alpha.accounts.get.query({ id: created.id })).toEqual(created);

    const parent = await create(h.alpha, { type: "ORG", name: "Acme Holdings" });
    const service = h.client(
      await h.token({ kind: "service", sub: "crm", tenants: ["alpha"], permissions: ["accounts:write"] }),
    );
    const replaced = await service.accounts.update.mutate({
      id: created.id,
      expectedVersion: 1,
      account: { type: "DEDICATED", key: "654321", name: "Acme Dedicated", parentId: parent.id },
    });
    expect(replaced).toMatchObject({
      id: created.id,
      type: "DEDICATED",
      key: "654321",
      name: "Acme Dedicated",
      parentId: parent.id,
      version: 2,
      createdAt: created.createdAt,
      createdBy: created.createdBy,
      updatedBy: "service:crm",
    });
    expect(Date.parse(replaced.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(await h.alpha.accounts.get.query({ id: created.id })).toEqual(replaced);

    // Full replace: an absent parentId means none.
    const moved = await h.alpha.accounts.update.mutate({
      id: created.id,
      account: { type: "DEDICATED", key: "654321", name: "Acme Dedicated" },
    });
    expect(moved).toMatchObject({ parentId: null, version: 3 });

    expect(await h.alpha.accounts.delete.mutate({ id: created.id, expectedVersion: 3 })).toEqual({
      id: created.id,
      deleted: true,
    });
    await expectError(h.alpha.accounts.get.query({ id: created.id }), 404, [
      { reason: "not_found", field: "id" },
    ]);
  });

  it("rejects a stale expectedVersion on update and delete with 412 and the current version", async () => {
    const a = await create(h.alpha);
    await h.alpha.accounts.update.mutate({
      id: a.id,
      expectedVersion: 1,
      account: { ...editable(a), name: "Renamed" },
    });
    for (const call of [
      h.alpha.accounts.update.mutate({
        id: a.id,
        expectedVersion: 1,
        account: { ...editable(a), name: "Lost" },
      }),
      h.alpha.accounts.delete.mutate({ id: a.id, expectedVersion: 1 }),
    ]) {
      const error = await rejection(call);
      expect(error.status).toBe(412);
      expect(error.code).toBe("PRECONDITION_FAILED");
      expect(error.errors).toEqual([{ reason: "version_mismatch", field: "expectedVersion" }]);
      expect(error.details).toEqual({ currentVersion: 2 });
    }
    expect(await h.alpha.accounts.get.query({ id: a.id })).toMatchObject({ name: "Renamed", version: 2 });
  });

  it("answers 404 to an unknown id and 400 to a malformed one", async () => {
    const id = randomUUID();
    const notFound = [{ reason: "not_found", field: "id" }];
    await expectError(h.alpha.accounts.get.query({ id }), 404, notFound);
    await expectError(h.alpha.accounts.update.mutate({ id, account: anAccount() }), 404, notFound);
    await expectError(h.alpha.accounts.delete.mutate({ id }), 404, notFound);
    await expectError(h.alpha.accounts.get.query({ id: "42" }), 400, [{ reason: "invalid", field: "id" }]);
  });

  it("gets an account by type and key (Rackspace customer_accounts/{accountType}/{accountId}); unknown or another tenant's is 404 on key", async () => {
    const account = await create(h.alpha, { type: "CLOUD" });
    const managed = await create(h.alpha, { type: "MANAGED", key: account.key });
    expect(await h.alpha.accounts.get.query({ type: "CLOUD", key: account.key })).toEqual(account);
    expect(await h.alpha.accounts.get.query({ type: "MANAGED", key: ` ${account.key} ` })).toEqual(managed);
    const notFound = [{ reason: "not_found", field: "key" }];
    await expectError(h.alpha.accounts.get.query({ type: "CLOUD", key: `k-${randomUUID()}` }), 404, notFound);
    await expectError(h.alpha.accounts.get.query({ type: "OTHER", key: account.key }), 404, notFound);
    await expectError(h.bravo.accounts.get.query({ type: "CLOUD", key: account.key }), 404, notFound);
  });

  it("takes exactly one of id and type + key, naming the field", async () => {
    const account = await create(h.alpha);
    for (const [input, errors] of [
      [{}, [{ reason: "required", field: "id" }]],
      [{ type: "CLOUD" }, [{ reason: "required", field: "key" }]],
      [{ key: account.key }, [{ reason: "required", field: "type" }]],
      [{ id: account.id, type: "CLOUD", key: account.key }, [{ reason: "invalid", field: "type" }]],
      [{ type: "cloud", key: account.key }, [{ reason: "invalid", field: "type" }]],
    ] as const) {
      await expectError(h.alpha.accounts.get.query(input), 400, [...errors]);
    }
  });

  it("rejects bad account input naming the field, and stores nothing", async () => {
    const before = await h.em().count(AccountEntity, { tenantId: "alpha" });
    for (const [account, errors] of [
      [{ ...anAccount(), type: "cloud" }, [{ reason: "invalid", field: "account.type" }]],
      [{ ...anAccount(), type: "T".repeat(51) }, [{ reason: "too_long", field: "account.type" }]],
      [{ ...anAccount(), key: "k".repeat(101) }, [{ reason: "too_long", field: "account.key" }]],
      [{ ...anAccount(), name: " " }, [{ reason: "required", field: "account.name" }]],
      [{ ...anAccount(), name: "n".repeat(256) }, [{ reason: "too_long", field: "account.name" }]],
      [{ ...anAccount(), parentId: "42" }, [{ reason: "invalid", field: "account.parentId" }]],
      [{ type: "CLOUD", name: "x" }, [{ reason: "required", field: "account.key" }]],
      [{ ...anAccount(), version: 3 }, [{ reason: "unknown_field", field: "account.version" }]],
    ] as const) {
      await expectError(h.alpha.accounts.create.mutate({ account: account as never }), 400, [...errors]);
    }
    expect(await h.em().count(AccountEntity, { tenantId: "alpha" })).toBe(before);
  });
});

describe("account rules", () => {
  it("keeps type + key unique per tenant: 409 duplicate on account.key", async () => {
    const a = await create(h.alpha, { type: "CLOUD", key: "dup-1" });
    const duplicate = [{ reason: "duplicate", field: "account.key" }];
    await expectError(create(h.alpha, { type: "CLOUD", key: "dup-1", name: "Other" }), 409, duplicate);
    // The same key under another type, or in another tenant, is another account.
    const b = await create(h.alpha, { type: "DEDICATED", key: "dup-1" });
    await create(h.bravo, { type: "CLOUD", key: "dup-1" });
    await expectError(
      h.alpha.accounts.update.mutate({ id: b.id, account: { ...editable(b), type: "CLOUD" } }),
      409,
      duplicate,
    );
    expect(await h.alpha.accounts.get.query({ id: b.id })).toEqual(b);
    // Replacing an account with its own type and key is no conflict.
    expect(
      (await h.alpha.accounts.update.mutate({ id: a.id, account: { ...editable(a), name: "Same key" } }))
        .name,
    ).toBe("Same key");
  });

  it("requires the parent to be an account of the tenant", async () => {
    const theirs = await create(h.bravo);
    const mine = await create(h.alpha);
    const unknown = [{ reason: "unknown_reference", field: "account.parentId" }];
    await expectError(create(h.alpha, { parentId: randomUUID() }), 400, unknown);
    await expectError(create(h.alpha, { parentId: theirs.id }), 400, unknown);
    await expectError(
      h.alpha.accounts.update.mutate({ id: mine.id, account: { ...editable(mine), parentId: theirs.id } }),
      400,
      unknown,
    );
    expect(await h.alpha.accounts.get.query({ id: mine.id })).toEqual(mine);
    const child = await create(h.alpha, { parentId: mine.id });
    expect(child.parentId).toBe(mine.id);
  });

  it("refuses a hierarchy cycle: the account itself, a child or a grandchild as parent", async () => {
    const root = await create(h.alpha, { name: "Root" });
    const child = await create(h.alpha, { name: "Child", parentId: root.id });
    const grandchild = await create(h.alpha, { name: "Grandchild", parentId: child.id });
    const cycle = [{ reason: "invalid", field: "account.parentId" }];
    for (const parentId of [root.id, child.id, grandchild.id]) {
      await expectError(
        h.alpha.accounts.update.mutate({ id: root.id, account: { ...editable(root), parentId } }),
        400,
        cycle,
      );
    }
    await expectError(
      h.alpha.accounts.update.mutate({
        id: child.id,
        account: { ...editable(child), parentId: grandchild.id },
      }),
      400,
      cycle,
    );
    expect(await h.alpha.accounts.get.query({ id: root.id })).toEqual(root);
    expect(await h.alpha.accounts.get.query({ id: child.id })).toEqual(child);

    // Moving within the tree without closing a loop is fine: the grandchild goes to the root.
    const moved = await h.alpha.accounts.update.mutate({
      id: grandchild.id,
      account: { ...editable(grandchild), parentId: root.id },
    });
    expect(moved.parentId).toBe(root.id);
  });

  it("keeps concurrent moves from closing a cycle, and concurrent creates from sharing a key", async () => {
    for (let round = 0; round < 5; round++) {
      const a = await create(h.alpha);
      const b = await create(h.alpha);
      const results = await Promise.allSettled([
        h.alpha.accounts.update.mutate({ id: a.id, account: { ...editable(a), parentId: b.id } }),
        h.alpha.accounts.update.mutate({ id: b.id, account: { ...editable(b), parentId: a.id } }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = results.find((r) => r.status === "rejected");
      expect((refused?.reason as { errors?: unknown } | undefined)?.errors).toEqual([
        { reason: "invalid", field: "account.parentId" },
      ]);

      const key = `race-${randomUUID()}`;
      const creates = await Promise.allSettled([create(h.alpha, { key }), create(h.alpha, { key })]);
      expect(creates.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const duplicate = creates.find((r) => r.status === "rejected");
      expect((duplicate?.reason as { status?: number; errors?: unknown } | undefined)?.errors).toEqual([
        { reason: "duplicate", field: "account.key" },
      ]);
    }
  });

  it("refuses to delete an account with contacts or child accounts, naming how many", async () => {
    const account = await create(h.alpha);
    const child = await create(h.alpha, { parentId: account.id });
    const contacts = [];
    for (let i = 0; i < 3; i++) {
      contacts.push(await h.alpha.contacts.create.mutate({ contact: { ...person, accountId: account.id } }));
    }
    await h.alpha.accounts.channels.add.mutate({
      accountId: account.id,
      channel: { label: "general", telephone: "+1 210 555 0100" },
    });
    await expectError(
      h.alpha.accounts.delete.mutate({ id: account.id }),
      409,
      [{ reason: "referenced", field: "id" }],
      {
        contacts: 3,
        childAccounts: 1,
      },
    );

    await h.alpha.accounts.delete.mutate({ id: child.id });
    for (const c of contacts.slice(1)) await h.alpha.contacts.delete.mutate({ id: c.id });
    await expectError(
      h.alpha.accounts.delete.mutate({ id: account.id }),
      409,
      [{ reason: "referenced", field: "id" }],
      {
        contacts: 1,
        childAccounts: 0,
      },
    );
    const [first] = contacts;
    if (!first) throw new Error("no contact");
    await h.alpha.contacts.delete.mutate({ id: first.id });
    await h.alpha.accounts.delete.mutate({ id: account.id });
    // Its channels went with it.
    expect(await h.em().count(AccountChannelEntity, { tenantId: "alpha", accountId: account.id })).toBe(0);
  });

  it("does not let a contact point at another tenant's account", async () => {
    const theirs = await create(h.bravo);
    await expectError(h.alpha.contacts.create.mutate({ contact: { ...person, accountId: theirs.id } }), 400, [
      { reason: "unknown_reference", field: "contact.accountId" },
    ]);
  });
});

describe("accounts.list", () => {
  type Listed = Awaited<ReturnType<ContactsClient["accounts"]["list"]["query"]>>["items"];

  async function listAll(
    client: ContactsClient,
    input: { type?: string; parentId?: string | null; limit: number },
  ) {
    const seen: Listed = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<ContactsClient["accounts"]["list"]["query"]>> =
        await client.accounts.list.query({ ...input, cursor });
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
      expect(pages).toBeLessThan(1000);
    } while (cursor);
    return { items: seen, pages };
  }

  const byPosition = (a: Listed[number], b: Listed[number]) =>
    a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1;

  it("pages through 120 accounts, each exactly once, oldest first", async () => {
    const created = await Promise.all(
      Array.from({ length: 120 }, (_, i) => create(h.alpha, { type: "PAGED", name: `Paged ${i}` })),
    );
    const expected = [...created].sort(byPosition).map((a) => a.id);

    const paged = await listAll(h.alpha, { type: "PAGED", limit: 50 });
    expect(paged.pages).toBe(3);
    expect(paged.items.map((a) => a.id)).toEqual(expected);
    expect(paged.items).toEqual([...created].sort(byPosition));

    const exact = await listAll(h.alpha, { type: "PAGED", limit: 40 });
    expect(exact.items.map((a) => a.id)).toEqual(expected);
    expect(exact.pages).toBe(3);

    const single = await h.alpha.accounts.list.query({ type: "PAGED", limit: 120 });
    expect(single.items.map((a) => a.id)).toEqual(expected);
    expect(single.nextCursor).toBeNull();

    const defaults = await h.alpha.accounts.list.query({ type: "PAGED" });
    expect(defaults.items).toHaveLength(50);
    expect(defaults.nextCursor).not.toBeNull();
  });

  it("keeps paging stable when accounts are added meanwhile: new ones come at the end", async () => {
    const type = "LATE";
    const first = await Promise.all([1, 2, 3].map(() => create(h.alpha, { type })));
    const page1 = await h.alpha.accounts.list.query({ type, limit: 2 });
    const late = await create(h.alpha, { type });
    const page2 = await h.alpha.accounts.list.query({ type, limit: 2, cursor: page1.nextCursor });
    expect([...page1.items, ...page2.items].map((a) => a.id)).toEqual(
      [...first.sort(byPosition), late].map((a) => a.id),
    );
    expect(page2.nextCursor).toBeNull();
  });

  it("filters by parent (null: top level) and by type", async () => {
    const type = "TREE";
    const root = await create(h.alpha, { type });
    const children = [
      await create(h.alpha, { type, parentId: root.id }),
      await create(h.alpha, { type, parentId: root.id }),
    ];
    const other = await create(h.alpha, { type: "OTHERTREE", parentId: root.id });

    const ofRoot = await h.alpha.accounts.list.query({ parentId: root.id });
    expect(ofRoot.items.map((a) => a.id)).toEqual([...children, other].sort(byPosition).map((a) => a.id));
    const typed = await h.alpha.accounts.list.query({ parentId: root.id, type });
    expect(typed.items.map((a) => a.id)).toEqual(children.sort(byPosition).map((a) => a.id));
    const top = await h.alpha.accounts.list.query({ parentId: null, type });
    expect(top.items.map((a) => a.id)).toEqual([root.id]);
    expect(await h.alpha.accounts.list.query({ parentId: randomUUID() })).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it("never shows another tenant's accounts", async () => {
    const theirs = await create(h.bravo, { type: "SECRET" });
    await create(h.bravo, { type: "SECRET", parentId: theirs.id });
    const all = await listAll(h.alpha, { limit: 1000 });
    expect(all.items.length).toBeGreaterThan(0);
    expect(all.items.map((a) => a.id)).not.toContain(theirs.id);
    expect(await h.alpha.accounts.list.query({ type: "SECRET" })).toEqual({ items: [], nextCursor: null });
    expect(await h.alpha.accounts.list.query({ parentId: theirs.id })).toEqual({
      items: [],
      nextCursor: null,
    });
    // A cursor from bravo's list is refused in alpha's (cursors are sealed to their tenant and list).
    await create(h.bravo, { type: "SECRET" });
    const bravoPage = await h.bravo.accounts.list.query({ type: "SECRET", limit: 1 });
    const foreign = await rejection(
      h.alpha.accounts.list.query({ type: "SECRET", cursor: bravoPage.nextCursor }),
    );
    expect([foreign.status, foreign.errors]).toEqual([400, [{ reason: "invalid", field: "cursor" }]]);
  });

  it.each([0, -1, 1001, 1.5])("rejects limit %d with 400 on limit", async (limit) => {
    const error = await rejection(h.alpha.accounts.list.query({ limit }));
    expect(error.status).toBe(400);
    expect(error.errors.map((e) => e.field)).toEqual(["limit"]);
  });

  it.each([
    ["garbage", "not base64 json"],
    [Buffer.from("{}").toString("base64url"), "empty object"],
    [Buffer.from(JSON.stringify({ n: 5 })).toString("base64url"), "a contacts cursor"],
    [Buffer.from(JSON.stringify({ c: "yesterday", i: randomUUID() })).toString("base64url"), "a bad time"],
    [
      Buffer.from(JSON.stringify({ c: new Date().toISOString(), i: "x' or 1=1" })).toString("base64url"),
      "a bad id",
    ],
  ])("rejects the cursor %s (%s) with 400 on cursor", async (cursor) => {
    await expectError(h.alpha.accounts.list.query({ cursor }), 400, [{ reason: "invalid", field: "cursor" }]);
  });

  it("rejects a bad filter naming it", async () => {
    await expectError(h.alpha.accounts.list.query({ parentId: "42" }), 400, [
      { reason: "invalid", field: "parentId" },
    ]);
    await expectError(h.alpha.accounts.list.query({ type: "lower" }), 400, [
      { reason: "invalid", field: "type" },
    ]);
  });
});

describe("account channels", () => {
  async function anAccountId(client: ContactsClient = h.alpha) {
    return (await create(client)).id;
  }

  it("adds each kind of channel, defaulting integration, and lists them in a stable order", async () => {
    const accountId = await anAccountId();
    const phone = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "general", telephone: " +1 210 555 0100 " },
    });
    expect(phone).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      accountId,
      label: "general",
      telephone: "+1 210 555 0100",
      email: null,
      website: null,
      integration: false,
      createdAt: expect.any(String) as unknown,
    });
    const fax = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "service_desk_fax", telephone: "+1 210 555 0199", integration: true },
    });
    expect(fax).toMatchObject({ label: "service_desk_fax", integration: true });
    const mail = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "service_desk", email: "desk@example.com", telephone: null },
    });
    const web = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "general", website: "https://support.example.com" },
    });

    const listed = await h.alpha.accounts.channels.list.query({ accountId });
    const byPosition = (a: typeof phone, b: typeof phone) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1;
    expect(listed).toEqual([phone, fax, mail, web].sort(byPosition));
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toEqual(listed);
    // Only this account's channels.
    const other = await anAccountId();
    await h.alpha.accounts.channels.add.mutate({
      accountId: other,
      channel: { label: "general", email: "x@example.com" },
    });
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toHaveLength(4);
  });

  it("rejects each channel rule with 400 naming the field, and stores nothing", async () => {
    const accountId = await anAccountId();
    for (const [channel, errors] of [
      [{ label: "general" }, [{ reason: "required", field: "channel.telephone" }]],
      // The ITSM seed's label is a required enum: no default.
      [{ telephone: "+1 210 555 0100" }, [{ reason: "required", field: "channel.label" }]],
      [{ label: null, email: "a@example.com" }, [{ reason: "invalid", field: "channel.label" }]],
      [{ label: "general", telephone: "  " }, [{ reason: "required", field: "channel.telephone" }]],
      [
        { label: "general", telephone: "+1 210 555 0100", email: "a@example.com" },
        [{ reason: "invalid", field: "channel.email" }],
      ],
      [
        { label: "general", email: "a@example.com", website: "https://x.io" },
        [{ reason: "invalid", field: "channel.website" }],
      ],
      [{ label: "fax", email: "fax@example.com" }, [{ reason: "invalid", field: "channel.label" }]],
      [
        { label: "service_desk_fax", website: "https://fax.io" },
        [{ reason: "invalid", field: "channel.label" }],
      ],
      [{ label: "pager", telephone: "1" }, [{ reason: "invalid", field: "channel.label" }]],
      [
        { label: "general", telephone: "1".repeat(256) },
        [{ reason: "too_long", field: "channel.telephone" }],
      ],
      [
        { label: "general", email: `${"e".repeat(60)}@${"x".repeat(192)}.io` },
        [{ reason: "too_long", field: "channel.email" }],
      ],
      [{ label: "general", website: "w".repeat(256) }, [{ reason: "too_long", field: "channel.website" }]],
      [{ label: "general", email: "not an email" }, [{ reason: "invalid", field: "channel.email" }]],
      [
        { label: "general", telephone: "1", integration: "yes" },
        [{ reason: "invalid", field: "channel.integration" }],
      ],
      [
        { label: "general", telephone: "1", color: "red" },
        [{ reason: "unknown_field", field: "channel.color" }],
      ],
    ] as const) {
      await expectError(
        h.alpha.accounts.channels.add.mutate({ accountId, channel: channel as ChannelInput }),
        400,
        [...errors],
      );
    }
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toEqual([]);
    // The limits themselves are accepted.
    const max = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "general", website: "w".repeat(255) },
    });
    expect(max.website).toHaveLength(255);
  });

  it("updates with PATCH semantics: given fields change, the others stay", async () => {
    const accountId = await anAccountId();
    const fax = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "fax", telephone: "+1 210 555 0199", integration: true },
    });
    const renumbered = await h.alpha.accounts.channels.update.mutate({
      accountId,
      id: fax.id,
      channel: { telephone: "+1 210 555 0198" },
    });
    expect(renumbered).toEqual({ ...fax, telephone: "+1 210 555 0198" });
    const flagged = await h.alpha.accounts.channels.update.mutate({
      accountId,
      id: fax.id,
      channel: { integration: false },
    });
    expect(flagged).toEqual({ ...renumbered, integration: false });
    // Switching a telephone to an email: clear the telephone, drop the fax label.
    const switched = await h.alpha.accounts.channels.update.mutate({
      accountId,
      id: fax.id,
      channel: { label: "service_desk", telephone: null, email: "desk@example.com" },
    });
    expect(switched).toEqual({
      ...flagged,
      label: "service_desk",
      telephone: null,
      email: "desk@example.com",
    });
    expect(await h.alpha.accounts.channels.update.mutate({ accountId, id: fax.id, channel: {} })).toEqual(
      switched,
    );
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toEqual([switched]);
  });

  it("checks the merged channel against the rules: 400 naming the field, nothing changed", async () => {
    const accountId = await anAccountId();
    const phone = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "fax", telephone: "+1 210 555 0199" },
    });
    const mail = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "general", email: "desk@example.com" },
    });
    for (const [id, channel, errors] of [
      // A second value next to the stored one: the error names the value sent.
      [
        phone.id,
        { label: "general", email: "a@example.com" },
        [{ reason: "invalid", field: "channel.email" }],
      ],
      [mail.id, { website: "https://x.io" }, [{ reason: "invalid", field: "channel.website" }]],
      [mail.id, { telephone: "+1 210 555 0100" }, [{ reason: "invalid", field: "channel.telephone" }]],
      // Clearing the only value.
      [mail.id, { email: null }, [{ reason: "required", field: "channel.telephone" }]],
      // A fax label without a telephone, from either side of the merge.
      [mail.id, { label: "fax" }, [{ reason: "invalid", field: "channel.label" }]],
      [
        phone.id,
        { telephone: null, email: "fax@example.com" },
        [{ reason: "invalid", field: "channel.label" }],
      ],
      // Each field's own rules.
      [phone.id, { telephone: "1".repeat(256) }, [{ reason: "too_long", field: "channel.telephone" }]],
      [mail.id, { email: "nope" }, [{ reason: "invalid", field: "channel.email" }]],
      [mail.id, { label: "pager" }, [{ reason: "invalid", field: "channel.label" }]],
      [mail.id, { id: randomUUID() }, [{ reason: "unknown_field", field: "channel.id" }]],
    ] as const) {
      await expectError(
        h.alpha.accounts.channels.update.mutate({ accountId, id, channel: channel as never }),
        400,
        [...errors],
      );
    }
    const byId = new Map((await h.alpha.accounts.channels.list.query({ accountId })).map((c) => [c.id, c]));
    expect(byId.get(phone.id)).toEqual(phone);
    expect(byId.get(mail.id)).toEqual(mail);
  });

  it("removes one channel, then all of them, saying how many", async () => {
    const accountId = await anAccountId();
    const added = [];
    for (const telephone of ["1", "2", "3"]) {
      added.push(
        await h.alpha.accounts.channels.add.mutate({ accountId, channel: { label: "general", telephone } }),
      );
    }
    const [first] = added;
    if (!first) throw new Error("nothing added");
    expect(await h.alpha.accounts.channels.remove.mutate({ accountId, id: first.id })).toEqual({
      id: first.id,
      removed: true,
    });
    await expectError(h.alpha.accounts.channels.remove.mutate({ accountId, id: first.id }), 404, [
      { reason: "not_found", field: "id" },
    ]);
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toHaveLength(2);
    expect(await h.alpha.accounts.channels.removeAll.mutate({ accountId })).toEqual({ removed: 2 });
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toEqual([]);
    expect(await h.alpha.accounts.channels.removeAll.mutate({ accountId })).toEqual({ removed: 0 });
  });

  it("gets one channel of an account by id; unknown, another account's or another tenant's is 404", async () => {
    const accountId = await anAccountId();
    const phone = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "general", telephone: "+1 (203) 413 4880", integration: true },
    });
    const web = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "service_desk", website: "www.support.best-it.com" },
    });
    expect(await h.alpha.accounts.channels.get.query({ accountId, id: phone.id })).toEqual(phone);
    expect(await h.alpha.accounts.channels.get.query({ accountId, id: web.id })).toEqual(web);

    const noChannel = [{ reason: "not_found", field: "id" }];
    const noAccount = [{ reason: "not_found", field: "accountId" }];
    await expectError(h.alpha.accounts.channels.get.query({ accountId, id: randomUUID() }), 404, noChannel);
    const other = await anAccountId();
    await expectError(
      h.alpha.accounts.channels.get.query({ accountId: other, id: phone.id }),
      404,
      noChannel,
    );
    await expectError(
      h.alpha.accounts.channels.get.query({ accountId: randomUUID(), id: phone.id }),
      404,
      noAccount,
    );
    await expectError(h.bravo.accounts.channels.get.query({ accountId, id: phone.id }), 404, noAccount);
    const theirs = await anAccountId(h.bravo);
    const theirChannel = await h.bravo.accounts.channels.add.mutate({
      accountId: theirs,
      channel: { label: "general", email: "info@best-it.com" },
    });
    await expectError(
      h.alpha.accounts.channels.get.query({ accountId, id: theirChannel.id }),
      404,
      noChannel,
    );
    await expectError(h.alpha.accounts.channels.get.query({ accountId, id: "68" }), 400, [
      { reason: "invalid", field: "id" },
    ]);
    await h.alpha.accounts.channels.remove.mutate({ accountId, id: web.id });
    await expectError(h.alpha.accounts.channels.get.query({ accountId, id: web.id }), 404, noChannel);
  });

  it("answers 404 on accountId for an unknown account, and on id for an unknown channel", async () => {
    const accountId = await anAccountId();
    const channel = await h.alpha.accounts.channels.add.mutate({
      accountId,
      channel: { label: "general", telephone: "1" },
    });
    const unknownAccount = randomUUID();
    const noAccount = [{ reason: "not_found", field: "accountId" }];
    await expectError(h.alpha.accounts.channels.list.query({ accountId: unknownAccount }), 404, noAccount);
    await expectError(
      h.alpha.accounts.channels.add.mutate({
        accountId: unknownAccount,
        channel: { label: "general", telephone: "1" },
      }),
      404,
      noAccount,
    );
    await expectError(
      h.alpha.accounts.channels.update.mutate({ accountId: unknownAccount, id: channel.id, channel: {} }),
      404,
      noAccount,
    );
    await expectError(
      h.alpha.accounts.channels.remove.mutate({ accountId: unknownAccount, id: channel.id }),
      404,
      noAccount,
    );
    await expectError(
      h.alpha.accounts.channels.removeAll.mutate({ accountId: unknownAccount }),
      404,
      noAccount,
    );

    const noChannel = [{ reason: "not_found", field: "id" }];
    await expectError(
      h.alpha.accounts.channels.update.mutate({ accountId, id: randomUUID(), channel: {} }),
      404,
      noChannel,
    );
    // A channel of another account of the same tenant is not this account's.
    const other = await anAccountId();
    await expectError(
      h.alpha.accounts.channels.update.mutate({
        accountId: other,
        id: channel.id,
        channel: { telephone: "2" },
      }),
      404,
      noChannel,
    );
    await expectError(
      h.alpha.accounts.channels.remove.mutate({ accountId: other, id: channel.id }),
      404,
      noChannel,
    );
    expect(await h.alpha.accounts.channels.list.query({ accountId })).toEqual([channel]);

    // Another tenant's account is unknown.
    const theirs = await anAccountId(h.bravo);
    await expectError(h.alpha.accounts.channels.list.query({ accountId: theirs }), 404, noAccount);
    await expectError(
      h.alpha.accounts.channels.add.mutate({
        accountId: theirs,
        channel: { label: "general", telephone: "1" },
      }),
      404,
      noAccount,
    );
    expect(await h.bravo.accounts.channels.list.query({ accountId: theirs })).toEqual([]);
  });
});

describe("account permissions", () => {
  it("lets accounts:read read and not write, and accounts:write write", async () => {
    const account = await create(h.alpha);
    const reader = h.client(await h.keyWith("alpha", ["accounts:read"]));
    expect((await reader.accounts.get.query({ id: account.id })).id).toBe(account.id);
    expect((await reader.accounts.channels.list.query({ accountId: account.id })).length).toBe(0);
    for (const call of [
      reader.accounts.create.mutate({ account: anAccount() }),
      reader.accounts.update.mutate({ id: account.id, account: anAccount() }),
      reader.accounts.delete.mutate({ id: account.id }),
      reader.accounts.channels.add.mutate({
        accountId: account.id,
        channel: { label: "general", telephone: "1" },
      }),
    ]) {
      await expectError(call, 403, [{ reason: "forbidden", field: null }]);
    }
    const writer = h.client(await h.keyWith("alpha", ["accounts:write"]));
    const written = await writer.accounts.create.mutate({ account: anAccount() });
    await expectError(writer.accounts.get.query({ id: written.id }), 403, [
      { reason: "forbidden", field: null },
    ]);
    await expectError(
      h.client(await h.keyWith("alpha", ["contacts:read", "contacts:write"])).accounts.list.query({}),
      403,
      [{ reason: "forbidden", field: null }],
    );
  });
});
