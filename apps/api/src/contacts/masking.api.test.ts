import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { ContactEntity } from "@contacts/db/entities/contact.entity";
import type { ContactInput } from "@contacts/domain/contact";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

// Distinctive values: the log test at the end looks for each of them in everything the server wrote.
const TAX_ID = "123-45-6789";
const TAX_ID_DIGITS = "123456789";
const MASKED = "***-**-6789";
const OTHER_TAX_ID = "987-65-4329";
const BRAVO_TAX_ID = "864-20-9753";
const BAD_TAX_ID = "246-13-5790#!";
const EMAIL = "zebra.quartz@example.org";
const BAD_EMAIL = "zebra.quartz@@example.invalid";
const PHONE = "+1 415 555 0199";
const PHONE_E164 = "+14155550199";

/** A person carrying the distinctive tax ID, email and phone. */
function person(overrides: Partial<ContactInput> = {}): ContactInput {
  return {
    subtype: "person",
    firstName: "Quentin",
    lastName: "Masking",
    emails: [{ address: EMAIL, label: "work", primary: true }],
    phones: [{ number: PHONE, label: "mobile", primary: true }],
    taxId: TAX_ID,
    ...overrides,
  };
}

/**
 * The whole JSON of a response holds no part of the tax ID beyond its last four digits. (The
 * fragments are chosen so they cannot occur by chance inside a UUID or a timestamp.)
 */
function expectNoFullTaxId(response: unknown): void {
  const json = JSON.stringify(response);
  expect(json).not.toContain("123-45-");
  expect(json).not.toContain(TAX_ID_DIGITS);
}

/** What a failed call rejects with, its message included (`rejection` does not type it). */
async function failure(call: Promise<unknown>) {
  const error = await rejection(call);
  return { ...error, message: (error as unknown as Error).message };
}

/** `apikey:<id>` of a key of alpha, found through the admin API by the key's prefix. */
async function subjectOfAlphaKey(key: string): Promise<string> {
  const keys = await h.alpha.admin.apiKeys.list.query();
  const matching = keys.filter((k) => k.prefix === key.slice(0, 9));
  expect(matching).toHaveLength(1);
  return `apikey:${matching[0]?.id ?? ""}`;
}

async function revealsOf(contactId: string, admin: ContactsClient = h.alpha) {
  return admin.admin.taxIdReveals.query({ contactId });
}

describe("tax IDs without contacts:unmask-tax-id", () => {
  it("never come back beyond the last four digits: create, get, get with fields, replace, search, me.create, me.get", async () => {
    const created = await h.alpha.contacts.create.mutate({ contact: person() });
    expect(created.taxId).toBe(MASKED);
    expectNoFullTaxId(created);

    const got = await h.alpha.contacts.get.query({ id: created.id });
    expect(got.taxId).toBe(MASKED);
    expectNoFullTaxId(got);

    const projected = await h.alpha.contacts.get.query({ id: created.id, fields: ["taxId"] });
    expect(projected).toEqual({ id: created.id, taxId: MASKED });
    expectNoFullTaxId(projected);

    // Full replace sending back the masked value read (meaning "unchanged").
    const replaced = await h.alpha.contacts.update.mutate({
      id: created.id,
      expectedVersion: created.version,
      contact: person({ taxId: MASKED, nickname: "Q" }),
    });
    expect(replaced.taxId).toBe(MASKED);
    expect(replaced.nickname).toBe("Q");
    expectNoFullTaxId(replaced);
    const row = await h.em().findOneOrFail(ContactEntity, { tenantId: "alpha", id: created.id });
    expect(h.vault.decrypt(row.taxIdCiphertext ?? "", { tenantId: "alpha", contactId: created.id })).toBe(
      TAX_ID,
    );

    const found = await h.alpha.contacts.search.query({ ids: [created.id] });
    expect(found.items.map((c) => [c.id, c.taxId])).toEqual([[created.id, MASKED]]);
    expectNoFullTaxId(found);

    const user = h.client(await h.token({ kind: "user", sub: "u1", tenant: "alpha" }));
    const mine = await user.me.create.mutate({ contact: person({ lastName: "Portal" }) });
    expect(mine.taxId).toBe(MASKED);
    expect(mine.userIds).toEqual(["u1"]);
    expectNoFullTaxId(mine);
    const me = await user.me.get.query();
    expect(me.id).toBe(mine.id);
    expect(me.taxId).toBe(MASKED);
    expectNoFullTaxId(me);
    const meProjected = await user.me.get.query({ fields: ["taxId"] });
    expect(meProjected).toEqual({ id: mine.id, taxId: MASKED });
    expectNoFullTaxId(meProjected);
  });

  it("rejects a masked value that does not match on replace (400 on contact.taxId) without quoting the stored one", async () => {
    const created = await h.alpha.contacts.create.mutate({ contact: person() });
    const error = await failure(
      h.alpha.contacts.update.mutate({ id: created.id, contact: person({ taxId: "***-**-0000" }) }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ reason: "invalid", field: "contact.taxId" }]);
    const json = JSON.stringify({ message: error.message, errors: error.errors, details: error.details });
    for (const fragment of [TAX_ID, TAX_ID_DIGITS, "123-45", "12345"]) expect(json).not.toContain(fragment);
    expect((await h.alpha.contacts.get.query({ id: created.id })).version).toBe(1);
  });

  it("rejects an invalid tax ID at create (400 on contact.taxId) without echoing the value", async () => {
    const error = await failure(h.alpha.contacts.create.mutate({ contact: person({ taxId: BAD_TAX_ID }) }));
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ reason: "invalid", field: "contact.taxId" }]);
    // The message is rebuilt from the field errors: field and reason, no value.
    expect(error.message).toBe("contact.taxId: invalid");
    const json = JSON.stringify({ message: error.message, errors: error.errors, details: error.details });
    for (const fragment of [BAD_TAX_ID, "246-13-5790", "246135790"]) expect(json).not.toContain(fragment);
  });
});

describe("tax IDs with contacts:unmask-tax-id", () => {
  it("come back in full, and every unmasked read is recorded (who, which contact, which procedure)", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person() });
    expect(await revealsOf(c.id)).toEqual([]); // a masked create records nothing

    const unmaskKey = await h.keyWith("alpha", ["contacts:read", "contacts:write", "contacts:unmask-tax-id"]);
    const unmasker = h.client(unmaskKey);
    const subject = await subjectOfAlphaKey(unmaskKey);
    expect(subject).toMatch(/^apikey:[0-9a-f-]{36}$/);
    expect(subject).not.toBe(await subjectOfAlphaKey(h.alphaKey));

    expect((await unmasker.contacts.get.query({ id: c.id })).taxId).toBe(TAX_ID);
    expect(await unmasker.contacts.get.query({ id: c.id, fields: ["taxId"] })).toEqual({
      id: c.id,
      taxId: TAX_ID,
    });
    const found = await unmasker.contacts.search.query({ ids: [c.id] });
    expect(found.items.map((item) => item.taxId)).toEqual([TAX_ID]);
    const replaced = await unmasker.contacts.update.mutate({
      id: c.id,
      expectedVersion: 1,
      contact: person({ nickname: "Q" }),
    });
    expect(replaced.taxId).toBe(TAX_ID);
    const own = await unmasker.contacts.create.mutate({ contact: person() });
    expect(own.taxId).toBe(TAX_ID);

    const reveals = await revealsOf(c.id);
    expect(reveals.map((r) => r.via).sort()).toEqual([
      "contacts.get",
      "contacts.get",
      "contacts.search",
      "contacts.update",
    ]);
    for (const reveal of reveals) {
      expect(reveal).toMatchObject({ contactId: c.id, revealedBy: subject });
      expect(reveal.requestId).toEqual(expect.any(String));
    }
    expect(await revealsOf(own.id)).toEqual([
      expect.objectContaining({ contactId: own.id, revealedBy: subject, via: "contacts.create" }),
    ]);
  });

  it("records nothing for a masked read, for a read without the tax ID, or for a failed call", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person() });
    const unmasker = h.client(
      await h.keyWith("alpha", ["contacts:read", "contacts:write", "contacts:unmask-tax-id"]),
    );

    expect((await h.alpha.contacts.get.query({ id: c.id })).taxId).toBe(MASKED);
    expect((await h.alpha.contacts.search.query({ ids: [c.id] })).items.map((item) => item.taxId)).toEqual([
      MASKED,
    ]);
    expect(await revealsOf(c.id)).toEqual([]);

    expect(await unmasker.contacts.get.query({ id: c.id, fields: ["firstName"] })).toEqual({
      id: c.id,
      firstName: "Quentin",
    });
    expect(await unmasker.contacts.search.query({ ids: [c.id], fields: ["lastName"] })).toEqual({
      items: [{ id: c.id, lastName: "Masking" }],
      nextCursor: null,
    });
    expect(await revealsOf(c.id)).toEqual([]);

    const stale = await failure(
      unmasker.contacts.update.mutate({ id: c.id, expectedVersion: 7, contact: person() }),
    );
    expect(stale.status).toBe(412);
    const badField = await failure(
      unmasker.contacts.get.query({ id: c.id, fields: ["taxId", "password" as never] }),
    );
    expect(badField.status).toBe(400);
    const wrongMask = await failure(
      unmasker.contacts.update.mutate({ id: c.id, contact: person({ taxId: "***-**-0000" }) }),
    );
    expect(wrongMask.status).toBe(400);
    expect(await revealsOf(c.id)).toEqual([]);
  });
});

describe("the tenant setting taxIdAlwaysUnmasked", () => {
  it("shows every caller of that tenant the full tax ID and records it; the other tenant is unaffected; turning it off masks again", async () => {
    const c = await h.alpha.contacts.create.mutate({ contact: person() });
    const b = await h.bravo.contacts.create.mutate({ contact: person({ taxId: BRAVO_TAX_ID }) });
    const readerKey = await h.keyWith("alpha", ["contacts:read"]);
    const reader = h.client(readerKey);
    const service = h.client(
      await h.token({
        kind: "service",
        sub: "svc-masking",
        tenants: ["alpha"],
        permissions: ["contacts:read"],
      }),
    );
    const user = h.client(await h.token({ kind: "user", sub: "u-setting", tenant: "alpha" }));
    const mine = await user.me.create.mutate({ contact: person({ lastName: "Setting" }) });
    expect(mine.taxId).toBe(MASKED);

    try {
      const updated = await (
        await h.platform("alpha")
      ).admin.tenants.update.mutate({ settings: { taxIdAlwaysUnmasked: true } });
      expect(updated.settings.taxIdAlwaysUnmasked).toBe(true);

      expect((await h.alpha.contacts.get.query({ id: c.id })).taxId).toBe(TAX_ID);
      expect((await reader.contacts.get.query({ id: c.id, fields: ["taxId"] })).taxId).toBe(TAX_ID);
      expect((await service.contacts.get.query({ id: c.id })).taxId).toBe(TAX_ID);
      expect((await user.me.get.query()).taxId).toBe(TAX_ID);

      const reveals = await revealsOf(c.id);
      expect(reveals.map((r) => r.revealedBy).sort()).toEqual(
        [
          await subjectOfAlphaKey(h.alphaKey),
          await subjectOfAlphaKey(readerKey),
          "service:svc-masking",
        ].sort(),
      );
      expect(reveals.every((r) => r.via === "contacts.get")).toBe(true);
      expect(await revealsOf(mine.id)).toEqual([
        expect.objectContaining({ contactId: mine.id, revealedBy: "user:u-setting", via: "me.get" }),
      ]);

      // The other tenant still sees masked values and records nothing.
      const bravoView = await h.bravo.contacts.get.query({ id: b.id });
      expect(bravoView.taxId).toBe("***-**-9753");
      expect(await revealsOf(b.id, h.bravo)).toEqual([]);
    } finally {
      const restored = await (
        await h.platform("alpha")
      ).admin.tenants.update.mutate({
        settings: { taxIdAlwaysUnmasked: false },
      });
      expect(restored.settings.taxIdAlwaysUnmasked).toBe(false);
    }

    const before = (await revealsOf(c.id)).length;
    expect((await h.alpha.contacts.get.query({ id: c.id })).taxId).toBe(MASKED);
    expect((await reader.contacts.get.query({ id: c.id })).taxId).toBe(MASKED);
    expect((await service.contacts.get.query({ id: c.id })).taxId).toBe(MASKED);
    expect((await user.me.get.query()).taxId).toBe(MASKED);
    expect(await revealsOf(c.id)).toHaveLength(before);
  });
});

describe("search by tax ID", () => {
  it("needs contacts:unmask-tax-id, ignores separators, and stays within the tenant; stored values are encrypted", async () => {
    const a1 = await h.alpha.contacts.create.mutate({ contact: person({ lastName: "Search" }) });
    const a2 = await h.alpha.contacts.create.mutate({
      contact: person({ lastName: "Search", taxId: OTHER_TAX_ID }),
    });
    const b1 = await h.bravo.contacts.create.mutate({ contact: person({ lastName: "Search" }) });

    const forbidden = await failure(h.alpha.contacts.search.query({ taxId: TAX_ID_DIGITS }));
    expect(forbidden.status).toBe(403);
    expect(forbidden.errors).toEqual([{ reason: "forbidden", field: "taxId" }]);

    const alphaUnmasker = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:unmask-tax-id"]));
    const alphaFound = await alphaUnmasker.contacts.search.query({ taxId: TAX_ID_DIGITS, limit: 1000 });
    const alphaIds = alphaFound.items.map((c) => c.id);
    expect(alphaIds).toContain(a1.id);
    expect(alphaIds).not.toContain(a2.id);
    expect(alphaIds).not.toContain(b1.id);
    expect(alphaFound.items.every((c) => c.taxId === TAX_ID)).toBe(true);

    const bravoUnmasker = h.client(await h.keyWith("bravo", ["contacts:read", "contacts:unmask-tax-id"]));
    const bravoFound = await bravoUnmasker.contacts.search.query({ taxId: TAX_ID_DIGITS, limit: 1000 });
    expect(bravoFound.items.map((c) => [c.id, c.taxId])).toEqual([[b1.id, TAX_ID]]);

    // What is stored: ciphertext and key id, no plaintext, and an index that differs per tenant.
    const alphaRow = await h.em().findOneOrFail(ContactEntity, { tenantId: "alpha", id: a1.id });
    const bravoRow = await h.em().findOneOrFail(ContactEntity, { tenantId: "bravo", id: b1.id });
    for (const row of [alphaRow, bravoRow]) {
      expect(row.taxIdCiphertext).toEqual(expect.any(String));
      expect(row.taxIdCiphertext).not.toContain(TAX_ID);
      expect(row.taxIdCiphertext).not.toContain(TAX_ID_DIGITS);
      expect(row.taxIdKeyId).toBe(h.vault.currentKeyId);
      expect(h.vault.decrypt(row.taxIdCiphertext ?? "", { tenantId: row.tenantId, contactId: row.id })).toBe(
        TAX_ID,
      );
    }
    const legacy = await h
      .em()
      .getConnection()
      .execute<{ tax_id: string | null }[]>("select tax_id from contacts");
    expect(legacy.length).toBeGreaterThan(0);
    expect(legacy.every((r) => r.tax_id === null)).toBe(true);
    expect(alphaRow.taxIdIndex).toEqual(expect.any(String));
    expect(bravoRow.taxIdIndex).toEqual(expect.any(String));
    expect(alphaRow.taxIdIndex).not.toBe(bravoRow.taxIdIndex);
  });

  it("records each match of a tax-ID filter as a reveal, even when the tax ID is not in the output", async () => {
    const c = await h.alpha.contacts.create.mutate({
      contact: person({ lastName: "Oracle", taxId: "321-54-9876" }),
    });
    const unmasker = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:unmask-tax-id"]));
    const found = await unmasker.contacts.search.query({ taxId: "321549876", fields: ["id"] });
    expect(found.items).toEqual([{ id: c.id }]);
    const reveals = await revealsOf(c.id);
    expect(reveals.map((r) => [r.contactId, r.via])).toEqual([[c.id, "contacts.search"]]);
  });

  it("rejects a tax-ID filter that cannot be a tax ID with 400, not 500", async () => {
    const unmasker = h.client(await h.keyWith("alpha", ["contacts:read", "contacts:unmask-tax-id"]));
    for (const taxId of ["\u037a\u037a\u037a\u037a", "----", "12"]) {
      const error = await failure(unmasker.contacts.search.query({ taxId }));
      expect(error.status).toBe(400);
      expect(error.errors.map((e) => e.field)).toContain("taxId");
    }
  });
});

// Last: everything above has run, so the server has logged every request of this file.
describe("logs", () => {
  it("contain none of the tax IDs, emails or phone numbers used, nor a rejected bad email", async () => {
    const error = await failure(
      h.alpha.contacts.create.mutate({ contact: person({ emails: [{ address: BAD_EMAIL }] }) }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toContainEqual({ reason: "invalid", field: "contact.emails.0.address" });

    const text = h.logs.join("\n");
    expect(h.logs.length).toBeGreaterThan(10);
    for (const value of [
      TAX_ID,
      TAX_ID_DIGITS,
      MASKED,
      OTHER_TAX_ID,
      BRAVO_TAX_ID,
      BAD_TAX_ID,
      EMAIL,
      BAD_EMAIL,
      PHONE,
      PHONE_E164,
    ]) {
      expect(text).not.toContain(value);
    }
  });
});
