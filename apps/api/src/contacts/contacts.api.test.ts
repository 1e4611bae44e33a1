import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import { withoutComputedFields } from "@contacts/domain/contact";
import { applyJsonPatch } from "@contacts/domain/patch";
import type { JsonValue } from "@contacts/domain/patch";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import type { ContactInput } from "@contacts/domain/contact";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await h.close();
});

/** A person with every field group filled in. */
function fullContact(): ContactInput {
  return {
    subtype: "person",
    prefix: "Dr.",
    salutation: "Dear Countess",
    firstName: "Ada",
    middleName: "Augusta",
    lastName: "Lovelace",
    suffix: "II",
    nickname: "Countess",
    maidenName: "Byron",
    credentials: "FRS",
    jobTitle: "Analyst",
    companyName: "Analytical Engines Ltd",
    username: "ada",
    group: "founders",
    roles: ["PRIMARY", "TECHNICAL"],
    emails: [
      { address: "ada@example.com", label: "work", primary: true },
      { address: "ada.home@example.org", label: "home", primary: false },
    ],
    phones: [
      { number: "+44 20 7946 0958", label: "work", primary: true },
      { number: "(415) 555-0100", label: "mobile", primary: false, country: "US" },
      { number: "ext. ask reception", label: "other", primary: false },
    ],
    addresses: [
      {
        line1: "12 St James's Square",
        line2: "Floor 2",
        city: "London",
        state: "London",
        postalCode: "SW1Y 4JH",
        country: "GB",
        label: "work",
        primary: true,
      },
      {
        line1: "1 Beach Road",
        city: "Brighton",
        postalCode: "BN1 1AA",
        country: "GB",
        label: "seasonal",
        seasonalStart: "06-01",
        seasonalEnd: "08-31",
      },
    ],
    preferredPhoneLabel: "mobile",
    preferredAddressLabel: "work",
    taxId: "123-45-6789",
    gender: "female",
    pronouns: "she/her",
    dateOfBirth: "1815-12-10",
    dateOfDeath: "1852-11-27",
    status: "active",
    notes: "First programmer.",
    social: {
      website: "https://example.com/ada",
      linkedin: "ada-lovelace",
      twitter: "@ada",
      facebook: null,
      instagram: null,
    },
    notificationPreferences: {
      doNotCall: true,
      doNotEmail: false,
      doNotFax: true,
      doNotMail: false,
      doNotSurvey: true,
    },
    communicationPreferences: ["newsletter", "Product updates"],
    communicationPreferencesLastConfirmed: "2024-03-01T09:00:00.000Z",
    dateProfileLastUpdated: "2024-03-02T09:30:00.000Z",
    imageUrl: "https://example.com/ada.png",
    linkWorkAddressToAccount: true,
    userIds: ["user-ada"],
    customFields: { tier: "gold", score: 42, vip: true },
    externalId: `crm-${randomUUID()}`,
    originService: "legacy-crm",
    integration: true,
  };
}

async function countContacts(tenantId: string): Promise<number> {
  return h.em().count(ContactEntity, { tenantId });
}

describe("contacts CRUD over HTTP", () => {
  it("keeps a contact with every field group unchanged through create, get and replace (tax ID masked)", async () => {
    const input = fullContact();
    const created = await h.alpha.contacts.create.mutate({ contact: input });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.number).toBeGreaterThanOrEqual(1);
    expect(created.version).toBe(1);
    expect(created.taxId).toBe("***-**-6789");
    expect(created.createdBy).toMatch(/^apikey:/);
    expect(created.updatedBy).toBe(created.createdBy);
    expect(created.phones[0]).toMatchObject({
      number: "+44 20 7946 0958",
      e164: "+442079460958",
      valid: true,
    });
    expect(created.phones[1]).toMatchObject({
      number: "(415) 555-0100",
      e164: "+14155550100",
      country: "US",
    });
    expect(created.phones[2]).toMatchObject({ number: "ext. ask reception", e164: null, valid: false });
    const { taxId: _taxId, ...rest } = input;
    expect(created).toMatchObject({
      ...rest,
      emails: input.emails,
      addresses: expect.any(Array) as unknown,
    });

    const got = await h.alpha.contacts.get.query({ id: created.id });
    expect(got).toEqual(created);

    // The document read back is valid input: replacing with it changes nothing but the version.
    const {
      id,
      version,
      number: _number,
      createdAt: _createdAt,
      createdBy: _createdBy,
      updatedAt: _updatedAt,
      updatedBy: _updatedBy,
      provenance: _provenance,
      lastBulkImport: _lastBulkImport,
      mergedIds: _mergedIds,
      ...editable
    } = withoutComputedFields(got as typeof created);
    const replaced = await h.alpha.contacts.update.mutate({
      id,
      expectedVersion: version,
      contact: editable,
    });
    expect(replaced.version).toBe(2);
    expect({ ...replaced, version: 1, updatedAt: created.updatedAt }).toEqual(created);

    // The masked tax ID sent back meant "unchanged": the stored value is still the full one.
    const row = await h.em().findOneOrFail(ContactEntity, { tenantId: "alpha", id });
    expect(h.vault.decrypt(row.taxIdCiphertext ?? "", { tenantId: "alpha", contactId: id })).toBe(
      "123-45-6789",
    );
  });

  it("returns only the asked fields (plus id) with `fields`", async () => {
    const created = await h.alpha.contacts.create.mutate({ contact: fullContact() });
    const got = await h.alpha.contacts.get.query({
      id: created.id,
      fields: ["firstName", "emails", "taxId"],
    });
    expect(got).toEqual({ id: created.id, firstName: "Ada", emails: created.emails, taxId: "***-**-6789" });
  });

  it("accepts consistentRead and changes nothing with it", async () => {
    const created = await h.alpha.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Acme" },
    });
    expect(await h.alpha.contacts.get.query({ id: created.id, consistentRead: true })).toEqual(created);
  });

  it("increments version by one per change and records who changed it", async () => {
    const c = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Grace", lastName: "Hopper" },
    });
    const v2 = await h.alpha.contacts.update.mutate({
      id: c.id,
      contact: { subtype: "person", firstName: "Grace", lastName: "Hopper", nickname: "Amazing" },
    });
    const v3 = await h.alpha.contacts.update.mutate({
      id: c.id,
      contact: { subtype: "person", firstName: "Grace", lastName: "Hopper" },
    });
    expect([c.version, v2.version, v3.version]).toEqual([1, 2, 3]);
    expect(v3.nickname).toBeNull();
    expect(new Date(v3.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(c.updatedAt).getTime());
    expect(v3.createdAt).toBe(c.createdAt);
  });

  it("keeps external ids unique per tenant: a second holder is 409 duplicate naming the field", async () => {
    const externalId = `crm-${randomUUID()}`;
    const first = await h.alpha.contacts.create.mutate({ contact: { ...fullContact(), externalId } });
    const error = await rejection(
      h.alpha.contacts.create.mutate({ contact: { ...fullContact(), externalId } }),
    );
    expect([error.status, error.errors, error.details]).toEqual([
      409,
      [{ reason: "duplicate", field: "contact.externalId" }],
      { contactId: first.id },
    ]);
    // The holder itself may keep it on a replace; another tenant may use it too.
    await h.alpha.contacts.update.mutate({
      id: first.id,
      contact: { ...fullContact(), externalId, notes: "kept" },
    });
    await h.bravo.contacts.create.mutate({ contact: { ...fullContact(), externalId } });
  });

  it("hands out sequential numbers per tenant", async () => {
    const a = await h.bravo.contacts.create.mutate({ contact: { subtype: "company", companyName: "One" } });
    const b = await h.bravo.contacts.create.mutate({ contact: { subtype: "company", companyName: "Two" } });
    expect(b.number).toBe(a.number + 1);
  });

  it("rejects a stale expectedVersion with 412 and the current version", async () => {
    const c = await h.alpha.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Stale Co" },
    });
    await h.alpha.contacts.update.mutate({
      id: c.id,
      expectedVersion: 1,
      contact: { subtype: "company", companyName: "Stale Co 2" },
    });
    const error = await rejection(
      h.alpha.contacts.update.mutate({
        id: c.id,
        expectedVersion: 1,
        contact: { subtype: "company", companyName: "Lost" },
      }),
    );
    expect(error.status).toBe(412);
    expect(error.errors).toEqual([{ reason: "version_mismatch", field: "expectedVersion" }]);
    expect(error.details).toEqual({ currentVersion: 2 });
    expect((await h.alpha.contacts.get.query({ id: c.id })).companyName).toBe("Stale Co 2");
  });

  it("deletes a contact; a get afterwards is 404", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: { subtype: "company", companyName: "Gone" } });
    expect(await h.alpha.contacts.delete.mutate({ id: c.id })).toEqual({ id: c.id, deleted: true });
    const error = await rejection(h.alpha.contacts.get.query({ id: c.id }));
    expect(error.status).toBe(404);
    expect(error.errors).toEqual([{ reason: "not_found", field: "id" }]);
  });

  it("refuses to delete a contact another contact references, naming the referrer", async () => {
    const spouse = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Wil", lastName: "King" },
    });
    const referrer = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Ada", lastName: "King", spouseId: spouse.id },
    });
    const error = await rejection(h.alpha.contacts.delete.mutate({ id: spouse.id }));
    expect(error.status).toBe(409);
    expect(error.errors).toEqual([{ reason: "referenced", field: "id" }]);
    expect(error.details).toEqual({ referrers: [referrer.id] });
    expect(await h.alpha.contacts.get.query({ id: spouse.id, fields: ["id"] })).toEqual({ id: spouse.id });
  });

  it("refuses to delete a contact that is another contact's portal delegate, naming the referrer", async () => {
    const delegate = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Dee", lastName: "Legate" },
    });
    const managed = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Man", lastName: "Aged", portalDelegates: [delegate.id] },
    });
    const error = await rejection(h.alpha.contacts.delete.mutate({ id: delegate.id }));
    expect([error.status, error.errors, error.details]).toEqual([
      409,
      [{ reason: "referenced", field: "id" }],
      { referrers: [managed.id] },
    ]);
    expect((await h.alpha.contacts.get.query({ id: delegate.id })).version).toBe(1);
    // Once no contact names it as a delegate, it can go.
    await h.alpha.contacts.patch.mutate({
      id: managed.id,
      patch: [{ op: "replace", path: "/portalDelegates", value: [] }],
    });
    expect(await h.alpha.contacts.delete.mutate({ id: delegate.id })).toEqual({
      id: delegate.id,
      deleted: true,
    });
  });
});

describe("the Rackspace phone mask", () => {
  it("keeps a phone's display mask through create, get, search, patch and replace; a phone stored without one reads as null", async () => {
    const phones = [
      { number: "8374384343", country: "US", mask: "(###)-###-####", label: "work" as const, primary: true },
      { number: "+44 20 7946 0958", label: "mobile" as const },
    ];
    const created = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "Mike",
        lastName: `Masked${randomUUID().slice(0, 8)}`,
        phones,
      },
    });
    expect(created.phones.map((p) => [p.number, p.e164, p.mask])).toEqual([
      ["8374384343", "+18374384343", "(###)-###-####"],
      ["+44 20 7946 0958", "+442079460958", null],
    ]);
    expect((await h.alpha.contacts.get.query({ id: created.id })).phones).toEqual(created.phones);
    const found = await h.alpha.contacts.search.query({
      lastName: created.lastName ?? "",
      fields: ["phones"],
    });
    expect(found.items[0]?.phones).toEqual(created.phones);

    const patched = await h.alpha.contacts.patch.mutate({
      id: created.id,
      patch: [
        { op: "replace", path: "/phones/0/mask", value: "###.###.####" },
        { op: "add", path: "/phones/1/mask", value: "+## ## #### ####" },
      ],
    });
    expect(patched.phones.map((p) => p.mask)).toEqual(["###.###.####", "+## ## #### ####"]);
    const bad = await rejection(
      h.alpha.contacts.patch.mutate({
        id: created.id,
        patch: [{ op: "replace", path: "/phones/0/mask", value: "ABC" }],
      }),
    );
    expect([bad.status, bad.errors]).toEqual([400, [{ reason: "invalid", field: "phones.0.mask" }]]);

    const replaced = await h.alpha.contacts.update.mutate({
      id: created.id,
      contact: {
        subtype: "person",
        firstName: "Mike",
        lastName: created.lastName,
        phones: [{ number: "8374384343" }],
      },
    });
    expect(replaced.phones[0]?.mask).toBeNull();

    // A row written before masks existed has no `mask` key in its phones.
    await h
      .em()
      .getConnection()
      .execute(
        `update contacts set phones = (select jsonb_agg(p - 'mask') from jsonb_array_elements(phones) p)
          where tenant_id = 'alpha' and id = ?`,
        [created.id],
      );
    const old = await h.alpha.contacts.get.query({ id: created.id });
    expect(old.phones).toEqual(replaced.phones);
  });

  it("rejects a mask that is not a display pattern, naming the phone", async () => {
    const error = await rejection(
      h.alpha.contacts.create.mutate({
        contact: {
          subtype: "person",
          firstName: "Bad",
          lastName: "Mask",
          phones: [{ number: "1", mask: "(000)" }],
        },
      }),
    );
    expect([error.status, error.errors]).toEqual([
      400,
      [{ reason: "invalid", field: "contact.phones.0.mask" }],
    ]);
  });
});

describe("lookups by external identity", () => {
  it("gets a contact by externalId, with fields; an unknown or another tenant's external id is 404 on externalId", async () => {
    const externalId = `crm-${randomUUID()}`;
    const created = await h.alpha.contacts.create.mutate({ contact: { ...fullContact(), externalId } });
    expect(await h.alpha.contacts.get.query({ externalId })).toEqual(created);
    expect(
      await h.alpha.contacts.get.query({ externalId: ` ${externalId} `, fields: ["externalId"] }),
    ).toEqual({
      id: created.id,
      externalId,
    });
    for (const call of [
      () => h.alpha.contacts.get.query({ externalId: `crm-${randomUUID()}` }),
      () => h.bravo.contacts.get.query({ externalId }),
    ]) {
      const error = await rejection(call());
      expect([error.status, error.errors]).toEqual([404, [{ reason: "not_found", field: "externalId" }]]);
    }
  });

  it("takes exactly one of id and externalId, naming the field", async () => {
    const c = await h.alpha.contacts.create.mutate({
      contact: { ...fullContact(), externalId: `crm-${randomUUID()}` },
    });
    for (const [input, errors] of [
      [{}, [{ reason: "required", field: "id" }]],
      [{ id: c.id, externalId: c.externalId }, [{ reason: "invalid", field: "externalId" }]],
      [{ externalId: "  " }, [{ reason: "required", field: "externalId" }]],
      [{ externalId: "x".repeat(256) }, [{ reason: "too_long", field: "externalId" }]],
    ] as const) {
      const error = await rejection(h.alpha.contacts.get.query(input as never));
      expect([error.status, error.errors]).toEqual([400, errors]);
    }
  });

  it("lists an account's contacts by the account's type and key as by its id; unknown or another tenant's is 404", async () => {
    const key = `acct-${randomUUID()}`;
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key, name: "Lookup Co" },
    });
    await h.alpha.accounts.create.mutate({ account: { type: "MANAGED", key, name: "Same key, other type" } });
    const ada = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "Ada",
        lastName: "Key",
        accountId: account.id,
        roles: ["BILLING"],
      },
    });
    const bob = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Bob", lastName: "Key", accountId: account.id },
    });
    const byId = await h.alpha.contacts.list.query({ accountId: account.id });
    expect(byId.items.map((c) => c.id)).toEqual([ada.id, bob.id]);
    expect(await h.alpha.contacts.list.query({ account: { type: "CLOUD", key } })).toEqual(byId);
    const billing = await h.alpha.contacts.list.query({
      account: { type: "CLOUD", key },
      role: "BILLING",
      limit: 1,
    });
    expect([billing.items.map((c) => c.id), billing.nextCursor]).toEqual([[ada.id], null]);
    const first = await h.alpha.contacts.list.query({ account: { type: "CLOUD", key }, limit: 1 });
    expect(first.items.map((c) => c.id)).toEqual([ada.id]);
    const second = await h.alpha.contacts.list.query({
      account: { type: "CLOUD", key },
      limit: 1,
      cursor: first.nextCursor,
    });
    expect(second.items.map((c) => c.id)).toEqual([bob.id]);
    expect((await h.alpha.contacts.list.query({ account: { type: "MANAGED", key } })).items).toEqual([]);

    for (const call of [
      () => h.alpha.contacts.list.query({ account: { type: "CLOUD", key: `none-${randomUUID()}` } }),
      () => h.alpha.contacts.list.query({ account: { type: "OTHER", key } }),
      () => h.bravo.contacts.list.query({ account: { type: "CLOUD", key } }),
    ]) {
      const error = await rejection(call());
      expect([error.status, error.errors]).toEqual([404, [{ reason: "not_found", field: "account.key" }]]);
    }
    for (const [input, errors] of [
      [{}, [{ reason: "required", field: "accountId" }]],
      [{ accountId: account.id, account: { type: "CLOUD", key } }, [{ reason: "invalid", field: "account" }]],
      [{ account: { type: "CLOUD" } }, [{ reason: "required", field: "account.key" }]],
      [{ account: { type: "cloud", key } }, [{ reason: "invalid", field: "account.type" }]],
    ] as const) {
      const error = await rejection(h.alpha.contacts.list.query(input as never));
      expect([error.status, error.errors]).toEqual([400, errors]);
    }
  });
});

describe("bad input is a 400 naming the field and changes nothing", () => {
  const person = { subtype: "person" as const, firstName: "Ada", lastName: "Lovelace" };
  const cases: [string, unknown, { reason: string; field: string }][] = [
    [
      "a client-supplied id",
      { ...person, id: randomUUID() },
      { reason: "server_managed", field: "contact.id" },
    ],
    [
      "a client-supplied version",
      { ...person, version: 3 },
      { reason: "server_managed", field: "contact.version" },
    ],
    [
      "a client-supplied number",
      { ...person, number: 9 },
      { reason: "server_managed", field: "contact.number" },
    ],
    [
      "a client-supplied createdBy",
      { ...person, createdBy: "me" },
      { reason: "server_managed", field: "contact.createdBy" },
    ],
    [
      "a client-supplied provenance",
      { ...person, provenance: null },
      { reason: "server_managed", field: "contact.provenance" },
    ],
    [
      "an unknown field",
      { ...person, favouriteColour: "blue" },
      { reason: "unknown_field", field: "contact.favouriteColour" },
    ],
    [
      "a person without a last name",
      { subtype: "person", firstName: "Ada" },
      { reason: "required", field: "contact.lastName" },
    ],
    [
      "a company without a name",
      { subtype: "company" },
      { reason: "required", field: "contact.companyName" },
    ],
    ["an unknown subtype", { ...person, subtype: "robot" }, { reason: "invalid", field: "contact.subtype" }],
    [
      "a malformed email",
      { ...person, emails: [{ address: "not-an-email" }] },
      { reason: "invalid", field: "contact.emails.0.address" },
    ],
    [
      "two primary emails",
      {
        ...person,
        emails: [
          { address: "a@example.com", primary: true },
          { address: "b@example.com", primary: true },
        ],
      },
      { reason: "multiple_primary", field: "contact.emails.1.primary" },
    ],
    [
      "two primary phones",
      {
        ...person,
        phones: [
          { number: "+14155550100", primary: true },
          { number: "+14155550101", primary: true },
        ],
      },
      { reason: "multiple_primary", field: "contact.phones.1.primary" },
    ],
    [
      "a too long first name",
      { ...person, firstName: "x".repeat(101) },
      { reason: "too_long", field: "contact.firstName" },
    ],
    [
      "a wrong label",
      { ...person, phones: [{ number: "+14155550100", label: "pager" }] },
      { reason: "invalid", field: "contact.phones.0.label" },
    ],
    [
      "a role outside the catalogue",
      { ...person, roles: ["JANITOR"] },
      { reason: "unknown_reference", field: "contact.roles.0" },
    ],
    [
      "an unknown account",
      { ...person, accountId: randomUUID() },
      { reason: "unknown_reference", field: "contact.accountId" },
    ],
    [
      "an unknown spouse",
      { ...person, spouseId: randomUUID() },
      { reason: "unknown_reference", field: "contact.spouseId" },
    ],
    ["a masked tax ID", { ...person, taxId: "***-**-6789" }, { reason: "invalid", field: "contact.taxId" }],
    [
      "a malformed date of birth",
      { ...person, dateOfBirth: "10/12/1815" },
      { reason: "invalid", field: "contact.dateOfBirth" },
    ],
    [
      "too many emails",
      { ...person, emails: Array.from({ length: 21 }, (_, i) => ({ address: `a${i}@example.com` })) },
      { reason: "too_big", field: "contact.emails" },
    ],
  ];

  it.each(cases)("%s", async (_name, contact, expected) => {
    const before = await countContacts("alpha");
    const error = await rejection(h.alpha.contacts.create.mutate({ contact } as never));
    expect(error.status).toBe(400);
    expect(error.errors).toContainEqual(expected);
    expect(await countContacts("alpha")).toBe(before);
  });

  it("rejects a bad replace and leaves the stored contact as it was", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person });
    const error = await rejection(
      h.alpha.contacts.update.mutate({ id: c.id, contact: { subtype: "person", firstName: "Ada" } as never }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toContainEqual({ reason: "required", field: "contact.lastName" });
    expect(await h.alpha.contacts.get.query({ id: c.id })).toEqual(c);
  });

  it("rejects a malformed id with 400 on id", async () => {
    const error = await rejection(h.alpha.contacts.get.query({ id: "not-a-uuid" }));
    expect(error.status).toBe(400);
    expect(error.errors).toContainEqual({ reason: "invalid", field: "id" });
  });

  it("rejects an unknown projection field", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person });
    const error = await rejection(
      h.alpha.contacts.get.query({ id: c.id, fields: ["firstName", "password" as never] }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toContainEqual({ reason: "invalid", field: "fields.1" });
  });

  it("answers 413 to a body over the limit, and stores nothing", async () => {
    const before = await countContacts("alpha");
    const error = await rejection(
      h.alpha.contacts.create.mutate({ contact: { ...person, notes: "x".repeat(70 * 1024) } }),
    );
    expect(error.status).toBe(413);
    expect(error.errors).toEqual([{ reason: "payload_too_large", field: null }]);
    expect(await countContacts("alpha")).toBe(before);
  });

  it("answers a non-JSON body with 400, not 500", async () => {
    const response = await fetch(`${h.url}/trpc/contacts.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.alphaKey}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { data: { errors: unknown[] } } };
    expect(body.error.data.errors).toEqual([{ reason: "invalid", field: null }]);
  });

  it("refuses a batch larger than the server's maximum", async () => {
    const calls = Array.from({ length: 51 }, (_, i) => i);
    const input = Object.fromEntries(calls.map((i) => [i, { id: randomUUID() }]));
    const response = await fetch(
      `${h.url}/trpc/${calls.map(() => "contacts.get").join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`,
      {
        headers: { authorization: `Bearer ${h.alphaKey}` },
      },
    );
    expect(response.status).toBe(400);
  });
});

describe("rolodex fields (seed 004)", () => {
  const person = { subtype: "person" as const, firstName: "Ada", lastName: "Lovelace" };
  const errorsOf = async (call: Promise<unknown>) =>
    (await rejection(call)).errors.map(({ reason, field }) => ({ reason, field }));

  it("stores salutation, image URL, account links, communication preferences and the profile date through create, get and patch", async () => {
    const created = await h.alpha.contacts.create.mutate({
      contact: {
        ...person,
        salutation: " Dear Ada ",
        imageUrl: "https://img.example.com/ada.png?size=200",
        linkWorkAddressToAccount: true,
        linkWorkPhoneToAccount: false,
        communicationPreferences: ["newsletter", "events"],
        communicationPreferencesLastConfirmed: "2024-03-01T10:00:00+01:00",
        dateProfileLastUpdated: "2024-03-02T09:30:00Z",
      },
    });
    const stored = {
      salutation: "Dear Ada",
      imageUrl: "https://img.example.com/ada.png?size=200",
      linkWorkAddressToAccount: true,
      linkWorkPhoneToAccount: false,
      communicationPreferences: ["newsletter", "events"],
      // Times come back in UTC with milliseconds, whatever offset they were sent with.
      communicationPreferencesLastConfirmed: "2024-03-01T09:00:00.000Z",
      dateProfileLastUpdated: "2024-03-02T09:30:00.000Z",
    };
    expect(created).toMatchObject(stored);
    expect(await h.alpha.contacts.get.query({ id: created.id })).toEqual(created);

    const patched = await h.alpha.contacts.patch.mutate({
      id: created.id,
      patch: [
        { op: "replace", path: "/salutation", value: "Dear Countess" },
        { op: "replace", path: "/imageUrl", value: "http://img.example.com/a.jpg" },
        { op: "replace", path: "/linkWorkAddressToAccount", value: false },
        { op: "replace", path: "/linkWorkPhoneToAccount", value: true },
        { op: "add", path: "/communicationPreferences/-", value: "surveys" },
        { op: "replace", path: "/communicationPreferencesLastConfirmed", value: "2025-01-01T00:00:00Z" },
        { op: "replace", path: "/dateProfileLastUpdated", value: null },
      ],
    });
    const after = {
      salutation: "Dear Countess",
      imageUrl: "http://img.example.com/a.jpg",
      linkWorkAddressToAccount: false,
      linkWorkPhoneToAccount: true,
      communicationPreferences: ["newsletter", "events", "surveys"],
      communicationPreferencesLastConfirmed: "2025-01-01T00:00:00.000Z",
      dateProfileLastUpdated: null,
    };
    expect(patched).toMatchObject({ ...after, version: 2 });
    expect(await h.alpha.contacts.get.query({ id: created.id })).toMatchObject(after);
    // The created event carries the new fields too (the feed rebuilds the stored document).
    const history = await h.alpha.contacts.history.query({ id: created.id });
    expect((history.items[0]?.patch?.[0] as { value?: unknown } | undefined)?.value).toMatchObject(stored);
  });

  it("clears them with JSON Patch remove, and refuses bad values sent by patch, naming each field and changing nothing", async () => {
    const created = await h.alpha.contacts.create.mutate({
      contact: {
        ...person,
        salutation: "Dear Ada",
        imageUrl: "https://img.example.com/ada.png",
        linkWorkAddressToAccount: true,
        linkWorkPhoneToAccount: true,
        communicationPreferences: ["newsletter", "events"],
        communicationPreferencesLastConfirmed: "2024-03-01T09:00:00Z",
        dateProfileLastUpdated: "2024-03-02T09:30:00Z",
      },
    });
    const soon = new Date(Date.now() + 86_400_000).toISOString();
    expect(
      await errorsOf(
        h.alpha.contacts.patch.mutate({
          id: created.id,
          patch: [
            { op: "replace", path: "/salutation", value: "x".repeat(101) },
            { op: "replace", path: "/imageUrl", value: "ftp://img.example.com/a.png" },
            { op: "replace", path: "/linkWorkPhoneToAccount", value: "no" },
            { op: "add", path: "/communicationPreferences/-", value: "events" },
            { op: "replace", path: "/communicationPreferencesLastConfirmed", value: "2024-13-01" },
          ],
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        { reason: "too_long", field: "salutation" },
        { reason: "invalid", field: "imageUrl" },
        { reason: "invalid", field: "linkWorkPhoneToAccount" },
        { reason: "duplicate", field: "communicationPreferences" },
        { reason: "invalid", field: "communicationPreferencesLastConfirmed" },
      ]),
    );
    // The rules across fields run once each field is well formed (as on create).
    expect(
      await errorsOf(
        h.alpha.contacts.patch.mutate({
          id: created.id,
          patch: [{ op: "replace", path: "/dateProfileLastUpdated", value: soon }],
        }),
      ),
    ).toEqual([{ reason: "invalid", field: "dateProfileLastUpdated" }]);
    expect(await h.alpha.contacts.get.query({ id: created.id })).toEqual(created);

    const cleared = await h.alpha.contacts.patch.mutate({
      id: created.id,
      patch: [
        { op: "remove", path: "/salutation" },
        { op: "remove", path: "/imageUrl" },
        { op: "remove", path: "/linkWorkAddressToAccount" },
        { op: "remove", path: "/linkWorkPhoneToAccount" },
        { op: "remove", path: "/communicationPreferences/0" },
        { op: "remove", path: "/communicationPreferencesLastConfirmed" },
        { op: "remove", path: "/dateProfileLastUpdated" },
      ],
    });
    const after = {
      salutation: null,
      imageUrl: null,
      linkWorkAddressToAccount: false,
      linkWorkPhoneToAccount: false,
      communicationPreferences: ["events"],
      communicationPreferencesLastConfirmed: null,
      dateProfileLastUpdated: null,
    };
    expect(cleared).toMatchObject({ ...after, version: 2 });
    expect(await h.alpha.contacts.get.query({ id: created.id })).toEqual(cleared);
    // The updated event says exactly that (the feed rebuilds the stored document).
    const history = await h.alpha.contacts.history.query({ id: created.id });
    let document: JsonValue = {};
    for (const event of history.items) {
      const applied = applyJsonPatch(document, event.patch);
      if (!applied.ok) throw new Error(`event ${String(event.seq)} does not apply`);
      document = applied.document;
    }
    expect(document).toEqual(withoutComputedFields(cleared));
  });

  it("validates them, each error naming its field", async () => {
    const soon = new Date(Date.now() + 86_400_000).toISOString();
    expect(
      await errorsOf(
        h.alpha.contacts.create.mutate({
          contact: {
            ...person,
            imageUrl: "javascript:alert(1)",
            communicationPreferences: ["a;b", "news", "news"],
            communicationPreferencesLastConfirmed: "yesterday",
            dateProfileLastUpdated: soon,
            linkWorkPhoneToAccount: "yes" as never,
            salutation: "x".repeat(101),
          },
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        { reason: "invalid", field: "contact.imageUrl" },
        { reason: "invalid", field: "contact.communicationPreferences.0" },
        { reason: "invalid", field: "contact.communicationPreferencesLastConfirmed" },
        { reason: "invalid", field: "contact.linkWorkPhoneToAccount" },
        { reason: "too_long", field: "contact.salutation" },
      ]),
    );
    expect(
      await errorsOf(h.alpha.contacts.create.mutate({ contact: { ...person, imageUrl: "/ada.png" } })),
    ).toEqual([{ reason: "invalid", field: "contact.imageUrl" }]);
    expect(
      await errorsOf(
        h.alpha.contacts.create.mutate({ contact: { ...person, dateProfileLastUpdated: soon } }),
      ),
    ).toEqual([{ reason: "invalid", field: "contact.dateProfileLastUpdated" }]);
    expect(
      await errorsOf(
        h.alpha.contacts.create.mutate({
          contact: { ...person, communicationPreferences: ["news", "news"] },
        }),
      ),
    ).toEqual([{ reason: "duplicate", field: "contact.communicationPreferences" }]);
  });

  it("computes name forms, preferred phone and address, account name and role names on read", async () => {
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key: `acc-${randomUUID()}`, name: "Analytical Engines" },
    });
    const code = `R${randomUUID().slice(0, 8).toUpperCase().replace(/-/g, "")}`;
    await h.alpha.roles.create.mutate({ code, description: "Chief Analyst" });
    const created = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        prefix: "Dr.",
        firstName: "Ada",
        middleName: "Augusta",
        lastName: "Lovelace",
        suffix: "II",
        accountId: account.id,
        roles: ["PRIMARY", code],
        phones: [
          { number: "+44 20 7946 0958", label: "work", primary: true },
          { number: "+1 415 555 0100", label: "mobile" },
        ],
        addresses: [
          { line1: "1 Main St", city: "London", label: "home" },
          { line1: "2 Work Rd", city: "London", label: "work", primary: true },
        ],
        preferredPhoneLabel: "mobile",
      },
    });
    expect(created).toMatchObject({
      name: "Ada Lovelace",
      fullName: "Dr. Ada Augusta Lovelace II",
      nameLastFirst: "Lovelace, Ada Augusta",
      preferredPhone: { number: "+1 415 555 0100", e164: "+14155550100", label: "mobile" },
      // No preferred address label: the primary one.
      preferredAddress: { line1: "2 Work Rd", label: "work", primary: true },
      accountName: "Analytical Engines",
      roleNames: ["PRIMARY", "Chief Analyst"],
    });
    const got = await h.alpha.contacts.get.query({ id: created.id });
    expect(got).toEqual(created);
    expect(await h.alpha.contacts.get.query({ id: created.id, fields: ["fullName", "accountName"] })).toEqual(
      {
        id: created.id,
        fullName: "Dr. Ada Augusta Lovelace II",
        accountName: "Analytical Engines",
      },
    );
    // Every read computes them again: an account rename shows at once, in get, search and list.
    await h.alpha.accounts.update.mutate({
      id: account.id,
      account: { type: "CLOUD", key: account.key, name: "Difference Engines" },
    });
    expect((await h.alpha.contacts.get.query({ id: created.id })).accountName).toBe("Difference Engines");
    const listed = await h.alpha.contacts.list.query({ accountId: account.id });
    expect(listed.items.map((c) => [c.accountName, c.roleNames])).toEqual([
      ["Difference Engines", ["PRIMARY", "Chief Analyst"]],
    ]);
    const searched = await h.alpha.contacts.search.query({ ids: [created.id] });
    expect(searched.items).toEqual([await h.alpha.contacts.get.query({ id: created.id })]);

    const company = await h.alpha.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Acme" },
    });
    expect(company).toMatchObject({
      name: "Acme",
      fullName: "Acme",
      nameLastFirst: "Acme",
      preferredPhone: null,
      preferredAddress: null,
      accountName: null,
      roleNames: [],
    });
  });

  it("keeps a linked contact's work phone on the account's general telephone, following channel changes", async () => {
    const admin = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    const account = await admin.accounts.create.mutate({
      account: { type: "CLOUD", key: `ph-${randomUUID()}`, name: "Phones Inc" },
    });
    const channel = await admin.accounts.channels.add.mutate({
      accountId: account.id,
      channel: { label: "general", telephone: "+1 512 555 0100" },
    });
    const base = { ...person, accountId: account.id };
    const ownPhones = [
      { number: "+1 212 555 0199", label: "work" as const, primary: true },
      { number: "+1 415 555 0111", label: "mobile" as const },
    ];
    const linked = await admin.contacts.create.mutate({
      contact: { ...base, linkWorkPhoneToAccount: true, phones: ownPhones },
    });
    const unlinked = await admin.contacts.create.mutate({ contact: { ...base, phones: ownPhones } });
    const locked = await admin.contacts.create.mutate({
      contact: { ...base, linkWorkPhoneToAccount: true, locked: true, phones: ownPhones },
    });
    const phones = (c: { phones?: { number: string; label: string; primary: boolean }[] }) =>
      (c.phones ?? []).map((p) => [p.label, p.number, p.primary]);
    expect(phones(linked)).toEqual([
      ["work", "+1 512 555 0100", true],
      ["mobile", "+1 415 555 0111", false],
    ]);
    expect(linked.preferredPhone?.e164).toBe("+15125550100");
    expect(phones(unlinked)[0]).toEqual(["work", "+1 212 555 0199", true]);

    // The account's phone changes: the linked contact follows (one updated event), the others do not.
    await admin.accounts.channels.update.mutate({
      accountId: account.id,
      id: channel.id,
      channel: { telephone: "+1 512 555 0200" },
    });
    const followed = await admin.contacts.get.query({ id: linked.id });
    expect([phones(followed)[0], followed.version]).toEqual([["work", "+1 512 555 0200", true], 2]);
    const events = await admin.contacts.history.query({ id: linked.id });
    expect(events.items.at(-1)?.patch).toContainEqual({
      op: "replace",
      path: "/phones/0/number",
      value: "+1 512 555 0200",
    });
    expect((await admin.contacts.get.query({ id: unlinked.id })).version).toBe(1);
    // A locked contact took the account's phone when created, and keeps it.
    expect(phones(await admin.contacts.get.query({ id: locked.id }))[0]).toEqual([
      "work",
      "+1 512 555 0100",
      true,
    ]);

    // A linked contact's own write cannot set another work phone while the account has one.
    const replaced = await admin.contacts.update.mutate({
      id: linked.id,
      contact: {
        ...base,
        linkWorkPhoneToAccount: true,
        phones: [{ number: "+1 999 555 0000", label: "work" }],
      },
    });
    expect(phones(replaced)).toEqual([["work", "+1 512 555 0200", false]]);
    // Without a telephone on the account the contact keeps the work phone it has.
    await admin.accounts.channels.remove.mutate({ accountId: account.id, id: channel.id });
    expect((await admin.contacts.get.query({ id: linked.id })).version).toBe(replaced.version);
  });

  it("keeps a linked contact's work address on the account's address, following account updates", async () => {
    const admin = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    const office = { line1: "1 Main St", city: "Austin", state: "TX", postalCode: "78701", country: "US" };
    const accountDoc = { type: "CLOUD", key: `addr-${randomUUID()}`, name: "Addresses Inc" };
    const account = await admin.accounts.create.mutate({ account: { ...accountDoc, address: office } });
    expect(account.address).toEqual({ ...office, line2: null });
    expect((await admin.accounts.get.query({ id: account.id })).address).toEqual({ ...office, line2: null });
    const base = { ...person, accountId: account.id };
    const ownAddresses = [
      { line1: "9 Home Rd", city: "Boston", label: "home" as const },
      { line1: "5 Old Office", city: "Dallas", label: "work" as const, primary: true },
    ];
    const linked = await admin.contacts.create.mutate({
      contact: { ...base, linkWorkAddressToAccount: true, addresses: ownAddresses },
    });
    const unlinked = await admin.contacts.create.mutate({ contact: { ...base, addresses: ownAddresses } });
    const locked = await admin.contacts.create.mutate({
      contact: { ...base, linkWorkAddressToAccount: true, locked: true, addresses: ownAddresses },
    });
    const places = (c: {
      addresses?: { line1: string | null; city: string | null; label: string; primary: boolean }[];
    }) => (c.addresses ?? []).map((a) => [a.label, a.line1, a.city, a.primary]);
    expect(places(linked)).toEqual([
      ["home", "9 Home Rd", "Boston", false],
      ["work", "1 Main St", "Austin", true],
    ]);
    expect(linked.addresses[1]).toMatchObject({ ...office, line2: null, seasonalStart: null });
    expect(linked.preferredAddress?.city).toBe("Austin");
    expect(places(unlinked)[1]).toEqual(["work", "5 Old Office", "Dallas", true]);

    // The account's address changes: the linked contact follows (one updated event), the others do not.
    await admin.accounts.update.mutate({
      id: account.id,
      account: { ...accountDoc, address: { ...office, line1: "2 New Ave", city: "Houston" } },
    });
    const followed = await admin.contacts.get.query({ id: linked.id });
    expect([places(followed)[1], followed.version]).toEqual([["work", "2 New Ave", "Houston", true], 2]);
    const events = await admin.contacts.history.query({ id: linked.id });
    expect(events.items).toHaveLength(2);
    expect(events.items.at(-1)?.patch).toContainEqual({
      op: "replace",
      path: "/addresses/1/city",
      value: "Houston",
    });
    expect((await admin.contacts.get.query({ id: unlinked.id })).version).toBe(1);
    // A locked contact took the account's address when created, and keeps it.
    const stillLocked = await admin.contacts.get.query({ id: locked.id });
    expect([places(stillLocked)[1], stillLocked.version]).toEqual([["work", "1 Main St", "Austin", true], 1]);
    // An account update that leaves the address as it was changes no contact.
    await admin.accounts.update.mutate({
      id: account.id,
      account: {
        ...accountDoc,
        name: "Renamed",
        address: { ...office, line1: "2 New Ave", city: "Houston" },
      },
    });
    expect((await admin.contacts.get.query({ id: linked.id })).version).toBe(2);

    // A linked contact's own replace or patch cannot set another work address while the account has one.
    const replaced = await admin.contacts.update.mutate({
      id: linked.id,
      contact: {
        ...base,
        linkWorkAddressToAccount: true,
        addresses: [{ line1: "7 Elsewhere", city: "Reno", label: "work" }],
      },
    });
    expect(places(replaced)).toEqual([["work", "2 New Ave", "Houston", false]]);
    const patched = await admin.contacts.patch.mutate({
      id: linked.id,
      patch: [{ op: "replace", path: "/addresses/0/city", value: "Reno" }],
    });
    expect(places(patched)).toEqual([["work", "2 New Ave", "Houston", false]]);
    // Linking by patch takes the account's address at once.
    const late = await admin.contacts.patch.mutate({
      id: unlinked.id,
      patch: [{ op: "replace", path: "/linkWorkAddressToAccount", value: true }],
    });
    expect(places(late)[1]).toEqual(["work", "2 New Ave", "Houston", true]);
    // Without an address on the account the contact keeps the work address it has.
    await admin.accounts.update.mutate({ id: account.id, account: { ...accountDoc, address: null } });
    expect((await admin.accounts.get.query({ id: account.id })).address).toBeNull();
    const kept = await admin.contacts.get.query({ id: linked.id });
    expect([places(kept), kept.version]).toEqual([
      [["work", "2 New Ave", "Houston", false]],
      patched.version,
    ]);
  });

  it("validates an account's address, each error naming its field", async () => {
    const admin = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    const account = { type: "CLOUD", key: `addr-${randomUUID()}`, name: "Bad Address" };
    expect(
      await errorsOf(
        admin.accounts.create.mutate({
          account: {
            ...account,
            address: { line1: "x".repeat(256), postalCode: "1".repeat(21), label: "work" } as never,
          },
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        { reason: "too_long", field: "account.address.line1" },
        { reason: "too_long", field: "account.address.postalCode" },
        { reason: "unknown_field", field: "account.address.label" },
      ]),
    );
  });

  it("refuses the computed fields on create, replace and patch as server_managed, changing nothing", async () => {
    const created = await h.alpha.contacts.create.mutate({ contact: person });
    expect(
      await errorsOf(
        h.alpha.contacts.create.mutate({
          contact: { ...person, fullName: "Ada Lovelace", roleNames: [] } as never,
        }),
      ),
    ).toEqual([
      { reason: "server_managed", field: "contact.fullName" },
      { reason: "server_managed", field: "contact.roleNames" },
    ]);
    expect(
      await errorsOf(
        h.alpha.contacts.update.mutate({ id: created.id, contact: { ...person, accountName: "X" } as never }),
      ),
    ).toEqual([{ reason: "server_managed", field: "contact.accountName" }]);
    expect(
      await errorsOf(
        h.alpha.contacts.patch.mutate({
          id: created.id,
          patch: [{ op: "replace", path: "/name", value: "Bob" }],
        }),
      ),
    ).toEqual([{ reason: "server_managed", field: "/name" }]);
    expect((await h.alpha.contacts.get.query({ id: created.id })).version).toBe(1);
  });
});

describe("the tenant setting validation.requirePrimaryAddress (Guidewire's creation criteria)", () => {
  const person = { subtype: "person" as const, firstName: "Ada", lastName: "Lovelace" };
  const complete = { line1: "1 Main St", city: "Austin", state: "TX", postalCode: "78701", primary: true };

  it("is off by default: a contact without an address is created, and the setting reads as unset", async () => {
    const api = await h.tenantClient("addr-off");
    expect((await api.admin.tenants.get.query({})).settings.validation).toBeUndefined();
    await expect(api.contacts.create.mutate({ contact: person })).resolves.toMatchObject({ version: 1 });
  });

  it("when on, a create needs a primary address with line 1, city, state and postal code, naming each missing field", async () => {
    const api = await h.tenantClient("addr-on");
    const updated = await api.admin.tenants.update.mutate({
      settings: { validation: { requirePrimaryAddress: true } },
    });
    expect(updated.settings.validation).toEqual({ requirePrimaryAddress: true });

    const none = await rejection(api.contacts.create.mutate({ contact: person }));
    expect([none.status, none.errors.map(({ reason, field }) => ({ reason, field }))]).toEqual([
      400,
      [
        { reason: "required", field: "contact.addresses.0.line1" },
        { reason: "required", field: "contact.addresses.0.city" },
        { reason: "required", field: "contact.addresses.0.state" },
        { reason: "required", field: "contact.addresses.0.postalCode" },
      ],
    ]);
    const partial = await rejection(
      api.contacts.create.mutate({
        contact: {
          ...person,
          addresses: [
            { line1: "9 Side St", city: "Dallas", state: "TX", postalCode: "75201" },
            { line1: "1 Main St", city: "Austin", primary: true },
          ],
        },
      }),
    );
    expect(partial.errors.map(({ reason, field }) => ({ reason, field }))).toEqual([
      { reason: "required", field: "contact.addresses.1.state" },
      { reason: "required", field: "contact.addresses.1.postalCode" },
    ]);
    const noPrimary = await rejection(
      api.contacts.create.mutate({ contact: { ...person, addresses: [{ ...complete, primary: false }] } }),
    );
    expect(noPrimary.errors.map(({ reason, field }) => ({ reason, field }))).toEqual([
      { reason: "required", field: "contact.addresses" },
    ]);
    expect((await api.contacts.search.query({})).items).toEqual([]);

    const ok = await api.contacts.create.mutate({ contact: { ...person, addresses: [complete] } });
    expect(ok.addresses[0]).toMatchObject(complete);

    // Creates only: an existing contact may still be changed without one (contacts stored before
    // the setting keep working), and turning it off lifts it.
    await expect(
      api.contacts.update.mutate({ id: ok.id, contact: { ...person, addresses: [] } }),
    ).resolves.toMatchObject({ version: 2 });
    await api.admin.tenants.update.mutate({ settings: { validation: { requirePrimaryAddress: false } } });
    await expect(api.contacts.create.mutate({ contact: person })).resolves.toMatchObject({ version: 1 });
  });

  it("rejects a setting that is not a boolean", async () => {
    const api = await h.tenantClient("addr-bad");
    const bad = await rejection(
      api.admin.tenants.update.mutate({
        settings: { validation: { requirePrimaryAddress: "yes" as never } },
      }),
    );
    expect(bad.errors.map(({ reason, field }) => ({ reason, field }))).toEqual([
      { reason: "invalid", field: "settings.validation.requirePrimaryAddress" },
    ]);
  });
});

describe("authentication, permissions and tenants", () => {
  it("answers 401 without a key and with an unknown key", async () => {
    for (const client of [h.client(""), h.client("ck_not-a-real-key")]) {
      const error = await rejection(client.contacts.get.query({ id: randomUUID() }));
      expect(error.status).toBe(401);
      expect(error.errors).toEqual([{ reason: "unauthenticated", field: null }]);
    }
  });

  it("answers 403 when the key lacks the procedure's permission", async () => {
    const readOnly = h.client(await h.keyWith("alpha", ["contacts:read"]));
    const c = await h.alpha.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Perm Co" },
    });
    const before = await countContacts("alpha");
    for (const call of [
      () => readOnly.contacts.create.mutate({ contact: { subtype: "company", companyName: "Nope" } }),
      () =>
        readOnly.contacts.update.mutate({ id: c.id, contact: { subtype: "company", companyName: "Nope" } }),
      () => readOnly.contacts.delete.mutate({ id: c.id }),
    ]) {
      const error = await rejection(call());
      expect(error.status).toBe(403);
      expect(error.errors).toEqual([{ reason: "forbidden", field: null }]);
    }
    expect(await countContacts("alpha")).toBe(before);
    const writeOnly = h.client(await h.keyWith("alpha", ["contacts:write"]));
    expect((await rejection(writeOnly.contacts.get.query({ id: c.id }))).status).toBe(403);
    expect(await readOnly.contacts.get.query({ id: c.id, fields: ["companyName"] })).toEqual({
      id: c.id,
      companyName: "Perm Co",
    });
  });

  it("shows the full tax ID only to a key holding contacts:unmask-tax-id", async () => {
    const c = await h.alpha.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Tax Co", taxId: "12-3456789" },
    });
    const unmasker = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:unmask-tax-id"]));
    expect((await h.alpha.contacts.get.query({ id: c.id, fields: ["taxId"] })).taxId).toBe("**-***6789");
    expect((await unmasker.contacts.get.query({ id: c.id, fields: ["taxId"] })).taxId).toBe("12-3456789");
  });

  it("keeps locked contacts unchangeable, and only contacts:unlock may lock or unlock", async () => {
    const writer = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:write", "contacts:delete"]));
    const base = { subtype: "company" as const, companyName: "Locked Co" };
    expect(
      (await rejection(writer.contacts.create.mutate({ contact: { ...base, locked: true } }))).status,
    ).toBe(403);
    const c = await h.alpha.contacts.create.mutate({ contact: { ...base, locked: true } });
    const edit = await rejection(
      writer.contacts.update.mutate({ id: c.id, contact: { ...base, locked: true, notes: "x" } }),
    );
    expect(edit.status).toBe(409);
    expect(edit.errors).toEqual([{ reason: "locked", field: "id" }]);
    expect((await rejection(writer.contacts.delete.mutate({ id: c.id }))).status).toBe(409);
    const unlocked = await h.alpha.contacts.update.mutate({ id: c.id, contact: { ...base, locked: false } });
    expect(unlocked.locked).toBe(false);
  });

  it("answers 404 to another tenant's id and changes nothing", async () => {
    const theirs = await h.bravo.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Bravo Co" },
    });
    for (const call of [
      () => h.alpha.contacts.get.query({ id: theirs.id }),
      () =>
        h.alpha.contacts.update.mutate({
          id: theirs.id,
          contact: { subtype: "company", companyName: "Hijacked" },
        }),
      () => h.alpha.contacts.delete.mutate({ id: theirs.id }),
    ]) {
      const error = await rejection(call());
      expect(error.status).toBe(404);
      expect(error.errors).toEqual([{ reason: "not_found", field: "id" }]);
    }
    expect(await h.bravo.contacts.get.query({ id: theirs.id })).toEqual(theirs);
  });

  it("does not let one tenant reference another tenant's contacts", async () => {
    const theirs = await h.bravo.contacts.create.mutate({
      contact: { subtype: "person", firstName: "B", lastName: "B" },
    });
    const error = await rejection(
      h.alpha.contacts.create.mutate({
        contact: {
          subtype: "person",
          firstName: "A",
          lastName: "A",
          spouseId: theirs.id,
          portalDelegates: [theirs.id],
        },
      }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([
      { reason: "unknown_reference", field: "contact.spouseId" },
      { reason: "unknown_reference", field: "contact.portalDelegates.0" },
    ]);
  });
});

describe("logs", () => {
  it("carry a request id and no personal data or secrets", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: fullContact() });
    await h.alpha.contacts.get.query({ id: c.id });
    await rejection(
      h.alpha.contacts.create.mutate({
        contact: { ...fullContact(), emails: [{ address: "broken@@example.com" }] },
      }),
    );
    const text = h.logs.join("");
    expect(h.logs.length).toBeGreaterThan(3);
    for (const line of h.logs) expect(JSON.parse(line)).toHaveProperty("requestId");
    // Every answer names its request id, the one the request's log line carries.
    const answer = await fetch(
      `${h.url}/trpc/contacts.get?input=${encodeURIComponent(JSON.stringify({ id: c.id }))}`,
      {
        headers: { authorization: `Bearer ${h.alphaKey}` },
      },
    );
    const requestId = answer.headers.get("x-request-id") ?? "";
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.logs.some((line) => (JSON.parse(line) as { requestId?: string }).requestId === requestId)).toBe(
      true,
    );
    // Distinctive values only: short fragments such as "6789" also occur by chance in ids and timestamps.
    for (const secret of [
      "123-45-6789",
      "***-**-6789",
      "ada@example.com",
      "broken@@example.com",
      "+44 20 7946 0958",
      "+442079460958",
      "(415) 555-0100",
      "+14155550100",
      "Lovelace",
      "St James",
      h.alphaKey,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
