import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { ContactInput } from "@contacts/domain/contact";

import { rejection, startHarness } from "../testing/harness.js";
import { backfillMatchKeys } from "@contacts/contacts/maintenance/match-keys-backfill";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ poolMax: 10 });
});

afterAll(async () => {
  await h.close();
});

const person = (first: string, last: string, extra: Partial<ContactInput> = {}): ContactInput => ({
  subtype: "person",
  firstName: first,
  lastName: last,
  ...extra,
});

async function create(contact: ContactInput) {
  return h.alpha.contacts.create.mutate({ contact });
}

/** The stored row, read as the owner (bypasses the API): proves what did or did not change. */
async function stored(id: string) {
  return h.em().findOneOrFail(ContactEntity, { id });
}

describe("contacts.patch", () => {
  it("applies add, replace, remove, move, copy and test to the contact as read, all or nothing", async () => {
    const c = await create(
      person("Ada", "Lovelace", {
        emails: [{ address: "ada@example.com", primary: true }],
        taxId: "123-45-6789",
        customFields: { tier: "gold" },
      }),
    );
    const patched = await h.alpha.contacts.patch.mutate({
      id: c.id,
      expectedVersion: 1,
      patch: [
        { op: "test", path: "/lastName", value: "Lovelace" },
        { op: "replace", path: "/firstName", value: "Augusta" },
        { op: "add", path: "/emails/-", value: { address: "countess@example.org" } },
        { op: "copy", from: "/lastName", path: "/maidenName" },
        { op: "move", from: "/customFields/tier", path: "/customFields/level" },
        { op: "remove", path: "/emails/0" },
      ],
    });
    expect(patched.firstName).toBe("Augusta");
    expect(patched.maidenName).toBe("Lovelace");
    expect(patched.emails.map((e) => e.address)).toEqual(["countess@example.org"]);
    expect(patched.customFields).toEqual({ level: "gold" });
    expect(patched.version).toBe(2);
    // The masked tax ID the caller read came back unchanged: the stored value is kept.
    expect(
      h.vault.decrypt((await stored(c.id)).taxIdCiphertext ?? "", { tenantId: "alpha", contactId: c.id }),
    ).toBe("123-45-6789");
  });

  it.each([
    ["/id", "server_managed"],
    ["/number", "server_managed"],
    ["/version", "server_managed"],
    ["/createdAt", "server_managed"],
    ["/updatedBy", "server_managed"],
    ["/provenance", "server_managed"],
    ["/mergedIds/0", "server_managed"],
    ["/tenantId", "server_managed"],
    ["/__proto__/polluted", "forbidden_path"],
    ["/customFields/constructor", "forbidden_path"],
    ["/social/prototype", "forbidden_path"],
  ])("refuses a patch touching %s (400 %s naming the path) and changes nothing", async (path, reason) => {
    const c = await create(person("Grace", "Hopper"));
    const error = await rejection(
      h.alpha.contacts.patch.mutate({ id: c.id, patch: [{ op: "add", path, value: "x" }] }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toContainEqual(expect.objectContaining({ reason, field: path }));
    expect((await stored(c.id)).version).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("answers 409 to a failed test operation, 400 to a bad path or an invalid result, changing nothing", async () => {
    const c = await create(person("Alan", "Turing", { emails: [{ address: "alan@example.com" }] }));
    const failedTest = await rejection(
      h.alpha.contacts.patch.mutate({
        id: c.id,
        patch: [
          { op: "replace", path: "/firstName", value: "Alonzo" },
          { op: "test", path: "/lastName", value: "Church" },
        ],
      }),
    );
    expect(failedTest.status).toBe(409);
    expect(failedTest.errors).toEqual([{ reason: "patch_test_failed", field: "/lastName" }]);

    const badPath = await rejection(
      h.alpha.contacts.patch.mutate({ id: c.id, patch: [{ op: "remove", path: "/emails/5" }] }),
    );
    expect(badPath.status).toBe(400);
    expect(badPath.errors).toEqual([{ reason: "invalid_path", field: "/emails/5" }]);

    const invalid = await rejection(
      h.alpha.contacts.patch.mutate({
        id: c.id,
        patch: [{ op: "replace", path: "/emails/0/address", value: "not an email" }],
      }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.errors).toContainEqual(expect.objectContaining({ field: "emails.0.address" }));

    const row = await stored(c.id);
    expect([row.version, row.firstName, row.emails[0]?.address]).toEqual([1, "Alan", "alan@example.com"]);
  });

  it("is 409 locked on a locked contact, and 412 on a stale version", async () => {
    const c = await create(person("Locked", "Person", { locked: true }));
    const locked = await rejection(
      h.alpha.contacts.patch.mutate({ id: c.id, patch: [{ op: "replace", path: "/firstName", value: "X" }] }),
    );
    expect([locked.status, locked.errors]).toEqual([409, [{ reason: "locked", field: "id" }]]);
    const stale = await rejection(
      h.alpha.contacts.patch.mutate({
        id: c.id,
        expectedVersion: 7,
        patch: [{ op: "replace", path: "/locked", value: false }],
      }),
    );
    expect([stale.status, stale.details]).toEqual([412, { currentVersion: 1 }]);
    // Unlocking is a patch too, for a caller holding contacts:unlock (alpha's key does).
    const unlocked = await h.alpha.contacts.patch.mutate({
      id: c.id,
      patch: [{ op: "replace", path: "/locked", value: false }],
    });
    expect(unlocked.locked).toBe(false);
  });
});

describe("optimistic concurrency", () => {
  it("lets exactly one of 50 concurrent updates with the same expectedVersion win; 49 get 412", async () => {
    const c = await create(person("Race", "Condition"));
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        h.alpha.contacts.update.mutate({
          id: c.id,
          expectedVersion: 1,
          contact: person("Race", `Writer ${String(i)}`),
        }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as { status: number }] : []));
    expect(won).toHaveLength(1);
    expect(lost.map((e) => e.status)).toEqual(Array.from({ length: 49 }, () => 412));
    expect(lost.every((e) => (e as { details?: unknown }).details !== undefined)).toBe(true);
    expect((lost[0] as { details?: unknown }).details).toEqual({ currentVersion: 2 });
    expect((await stored(c.id)).version).toBe(2);
  });
});

describe("contacts.merge", () => {
  it("moves every list and reference to the target in one transaction; sources become duplicates", async () => {
    const target = await create(
      person("Jon", "Smith", {
        emails: [{ address: "jon@example.com", primary: true }],
        roles: ["PRIMARY"],
        customFields: { tier: "gold" },
      }),
    );
    const source = await create(
      person("John", "Smith", {
        jobTitle: "Engineer",
        emails: [{ address: "JON@example.com" }, { address: "john@work.example" }],
        phones: [{ number: "+1 212 555 0100" }],
        addresses: [{ city: "New York", postalCode: "10001", country: "US" }],
        roles: ["BILLING"],
        userIds: ["user-john"],
        customFields: { tier: "silver", region: "east" },
        taxId: "987-65-4321",
      }),
    );
    const spouse = await create(person("Jane", "Smith", { spouseId: source.id }));
    const managed = await create(person("Kid", "Smith", { portalDelegates: [source.id, target.id] }));

    const preview = await h.alpha.contacts.merge.mutate({
      targetId: target.id,
      sourceIds: [source.id],
      dryRun: true,
    });
    expect(preview.dryRun).toBe(true);
    expect(preview.target.jobTitle).toBe("Engineer");
    expect(preview.conflicts).toEqual([
      { field: "firstName", sourceId: source.id },
      { field: "customFields.tier", sourceId: source.id },
    ]);
    expect((await stored(target.id)).version).toBe(1);
    expect((await stored(source.id)).status).toBe("active");

    const merged = await h.alpha.contacts.merge.mutate({
      targetId: target.id,
      sourceIds: [source.id],
      expectedVersion: 1,
    });
    expect(merged.dryRun).toBe(false);
    const t = merged.target;
    expect(t.firstName).toBe("Jon");
    expect(t.jobTitle).toBe("Engineer");
    expect(t.emails.map((e) => e.address)).toEqual(["jon@example.com", "john@work.example"]);
    expect(t.phones.map((p) => p.e164)).toEqual(["+12125550100"]);
    expect(t.addresses.map((a) => a.city)).toEqual(["New York"]);
    expect(t.roles).toEqual(["PRIMARY", "BILLING"]);
    expect(t.userIds).toEqual(["user-john"]);
    expect(t.customFields).toEqual({ tier: "gold", region: "east" });
    expect(t.mergedIds).toEqual([source.id]);
    expect(t.taxId).toBe("***-**-4321");
    expect(t.version).toBe(2);
    // The source's tax ID now belongs to the target, encrypted for it.
    const targetRow = await stored(target.id);
    expect(
      h.vault.decrypt(targetRow.taxIdCiphertext ?? "", { tenantId: "alpha", contactId: target.id }),
    ).toBe("987-65-4321");

    const sourceRow = await stored(source.id);
    expect([sourceRow.status, sourceRow.userIds]).toEqual(["duplicate", []]);
    expect((await stored(spouse.id)).spouseId).toBe(target.id);
    expect((await stored(managed.id)).portalDelegates).toEqual([target.id]);
    // Each change is in the history: merged on the target, updated on the source and the re-pointed.
    const last = async (id: string) => (await h.alpha.contacts.history.query({ id, limit: 50 })).items.at(-1);
    expect(await last(target.id)).toMatchObject({
      type: "merged",
      version: 2,
      data: { sourceIds: [source.id] },
    });
    expect(await last(source.id)).toMatchObject({ type: "updated", data: { mergedInto: target.id } });
    expect((await last(spouse.id))?.patch).toContainEqual({
      op: "replace",
      path: "/spouseId",
      value: target.id,
    });
    expect(await last(managed.id)).toMatchObject({ type: "updated" });
  });

  it("refuses locked targets and sources (409 locked), merged sources, repeats and unknown ids", async () => {
    const target = await create(person("T", "Target"));
    const lockedSource = await create(person("L", "Locked", { locked: true }));
    const source = await create(person("S", "Source"));
    const lockedTarget = await create(person("LT", "Locked", { locked: true }));

    const a = await rejection(
      h.alpha.contacts.merge.mutate({ targetId: target.id, sourceIds: [source.id, lockedSource.id] }),
    );
    expect([a.status, a.errors]).toEqual([409, [{ reason: "locked", field: "sourceIds.1" }]]);
    const b = await rejection(
      h.alpha.contacts.merge.mutate({ targetId: lockedTarget.id, sourceIds: [source.id] }),
    );
    expect([b.status, b.errors]).toEqual([409, [{ reason: "locked", field: "targetId" }]]);
    const c = await rejection(h.alpha.contacts.merge.mutate({ targetId: target.id, sourceIds: [target.id] }));
    expect([c.status, c.errors]).toEqual([400, [{ reason: "invalid", field: "sourceIds.0" }]]);
    const d = await rejection(
      h.alpha.contacts.merge.mutate({
        targetId: target.id,
        sourceIds: ["00000000-0000-4000-8000-000000000000"],
      }),
    );
    expect([d.status, d.errors]).toEqual([404, [{ reason: "not_found", field: "sourceIds.0" }]]);
    const e = await rejection(
      h.alpha.contacts.merge.mutate({ targetId: target.id, sourceIds: [source.id], expectedVersion: 3 }),
    );
    expect([e.status, e.details]).toEqual([412, { currentVersion: 1 }]);
    expect([(await stored(target.id)).version, (await stored(source.id)).status]).toEqual([1, "active"]);

    await h.alpha.contacts.merge.mutate({ targetId: target.id, sourceIds: [source.id] });
    const again = await rejection(
      h.alpha.contacts.merge.mutate({ targetId: target.id, sourceIds: [source.id] }),
    );
    expect([again.status, again.errors]).toEqual([409, [{ reason: "conflict", field: "sourceIds.0" }]]);
  });
});

describe("duplicate detection", () => {
  it("matches Jon Smith and John Smyth at the same postal code by phonetic name, not at another", async () => {
    const jon = await create(
      person("Jon", "Smith", { addresses: [{ city: "Springfield", postalCode: "62701" }] }),
    );
    const john = await create(person("John", "Smyth", { addresses: [{ postalCode: "62701" }] }));
    const elsewhere = await create(person("John", "Smyth", { addresses: [{ postalCode: "90210" }] }));

    const found = await h.alpha.contacts.duplicates.query({ id: jon.id });
    expect(found.items.map((d) => [d.contact.id, d.confidence, d.matches.map((m) => m.kind)])).toEqual([
      [john.id, 0.7, ["name"]],
    ]);
    expect(found.items.some((d) => d.contact.id === elsewhere.id)).toBe(false);
  });

  it("matches by normalized email and E.164 phone, the strongest match first", async () => {
    const a = await create(
      person("Mary", "Major", {
        emails: [{ address: "mary@major.example" }],
        phones: [{ number: "+1 415 555 0101" }],
      }),
    );
    const byEmail = await create(person("M", "Major", { emails: [{ address: " MARY@major.example " }] }));
    const byPhone = await create(
      person("Marie", "Other", { phones: [{ number: "(415) 555-0101", country: "US" }] }),
    );
    const found = await h.alpha.contacts.duplicates.query({ id: a.id });
    expect(found.items.map((d) => [d.contact.id, d.confidence])).toEqual([
      [byEmail.id, 0.95],
      [byPhone.id, 0.85],
    ]);
  });

  it("rejects a create that matches with onDuplicate: reject (409 naming the match), allows it by default", async () => {
    const existing = await create(
      person("Unique", "Person", { emails: [{ address: "unique@person.example" }] }),
    );
    const before = await h.em().count(ContactEntity, { tenantId: "alpha" });
    const error = await rejection(
      h.alpha.contacts.create.mutate({
        contact: person("Other", "Name", { emails: [{ address: "Unique@Person.example" }] }),
        onDuplicate: "reject",
      }),
    );
    expect([error.status, error.errors]).toEqual([409, [{ reason: "duplicate", field: "contact" }]]);
    expect(error.details).toEqual({ duplicates: [{ id: existing.id, confidence: 0.95 }] });
    expect(await h.em().count(ContactEntity, { tenantId: "alpha" })).toBe(before);
    await h.alpha.contacts.create.mutate({
      contact: person("Other", "Name", { emails: [{ address: "Unique@Person.example" }] }),
    });
    expect(await h.em().count(ContactEntity, { tenantId: "alpha" })).toBe(before + 1);
  });
});

describe("onDuplicate: reject under concurrency", () => {
  it("lets exactly one of 8 simultaneous creates of the same person through", async () => {
    const same = () => person("Twin", "Racer", { emails: [{ address: "twin@racer.example" }] });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        h.alpha.contacts.create.mutate({ contact: same(), onDuplicate: "reject" }),
      ),
    );
    const created = results.filter((r) => r.status === "fulfilled");
    const refused = await Promise.all(
      results.flatMap((r) => (r.status === "rejected" ? [rejection(Promise.reject(r.reason as Error))] : [])),
    );
    expect(created).toHaveLength(1);
    expect(refused.map((e) => [e.status, e.errors[0]?.reason])).toEqual(Array(7).fill([409, "duplicate"]));
    const [stored] = await h
      .em()
      .getConnection()
      .execute<{ n: number }[]>(
        "select count(*)::int as n from contacts where tenant_id = 'alpha' and emails::text like '%twin@racer.example%'",
      );
    expect(stored?.n).toBe(1);
  });
});

describe("accounts.removeContacts", () => {
  it("deletes every contact of an account in one transaction, refusing while one is locked or referenced", async () => {
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key: "rm-1", name: "Gone Ltd" },
    });
    const members = await Promise.all(
      ["A", "B", "C"].map((n) => create(person(n, "Member", { accountId: account.id }))),
    );
    const locked = await create(person("L", "Member", { accountId: account.id, locked: true }));
    const refused = await rejection(h.alpha.accounts.removeContacts.mutate({ accountId: account.id }));
    expect([refused.status, refused.errors, refused.details]).toEqual([
      409,
      [{ reason: "locked", field: "accountId" }],
      { locked: [locked.id] },
    ]);
    await h.alpha.contacts.update.mutate({
      id: locked.id,
      contact: person("L", "Member", { accountId: account.id }),
    });
    const outsider = await create(person("Out", "Sider", { spouseId: members[0]?.id ?? null }));
    const referenced = await rejection(h.alpha.accounts.removeContacts.mutate({ accountId: account.id }));
    expect([referenced.status, referenced.details]).toEqual([409, { referrers: [outsider.id] }]);
    expect(await h.em().count(ContactEntity, { tenantId: "alpha", accountId: account.id })).toBe(4);

    await h.alpha.contacts.update.mutate({ id: outsider.id, contact: person("Out", "Sider") });
    expect(await h.alpha.accounts.removeContacts.mutate({ accountId: account.id })).toBeNull();
    expect(await h.em().count(ContactEntity, { tenantId: "alpha", accountId: account.id })).toBe(0);
    for (const m of members) {
      expect((await h.alpha.contacts.history.query({ id: m.id })).items.at(-1)?.type).toBe("deleted");
    }
    expect(await h.em().count(ContactEntity, { tenantId: "alpha", id: outsider.id })).toBe(1);
  });
});

describe("match-keys backfill", () => {
  it("gives contacts stored without match keys their keys, so duplicates finds them", async () => {
    const old = await create(person("Legacy", "Row", { emails: [{ address: "legacy@row.example" }] }));
    const sql = (text: string, params: unknown[] = []) => h.em().getConnection().execute(text, params);
    await sql("update contacts set match_keys = '{}' where tenant_id = 'alpha' and id = ?", [old.id]);
    const twin = await create(person("Other", "Name", { emails: [{ address: "LEGACY@row.example" }] }));
    const before = await h.alpha.contacts.duplicates.query({ id: twin.id });
    expect(before.items.map((d) => d.contact.id)).not.toContain(old.id);

    const result = await backfillMatchKeys(h.db.url, { batchSize: 7 });
    expect(result.updated).toBe(1);
    expect(result.scanned).toBeGreaterThan(7);
    const after = await h.alpha.contacts.duplicates.query({ id: twin.id });
    expect(after.items.map((d) => [d.contact.id, d.confidence])).toContainEqual([old.id, 0.95]);
    expect((await stored(old.id)).version).toBe(old.version);
    expect((await backfillMatchKeys(h.db.url)).updated).toBe(0);
  });
});
