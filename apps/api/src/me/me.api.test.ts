import { createHash, randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { ContactEntity } from "@contacts/db/entities/contact.entity";

import { gravatarUrl, offlineSocialProfiles } from "../social/social-profile.js";
import type { SocialProfileProvider } from "../social/social-profile.js";
import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

/** An enrichment service that knows addresses at `enriched.example`, and the tenant's data otherwise. */
const enrichingProvider: SocialProfileProvider = {
  async lookup(emailAddress, known) {
    if (!emailAddress.toLowerCase().endsWith("@enriched.example"))
      return offlineSocialProfiles.lookup(emailAddress, known);
    return {
      emailAddress: emailAddress.toLowerCase(),
      gravatarUrl: gravatarUrl(emailAddress),
      contactId: known?.id ?? null,
      social: known?.social ?? {
        website: null,
        linkedin: "found-by-provider",
        twitter: null,
        facebook: null,
        instagram: null,
      },
      source: "enrichment",
    };
  },
};

beforeAll(async () => {
  h = await startHarness({ socialProfiles: enrichingProvider });
});

afterAll(async () => {
  await h.close();
});

/** A portal user id no other test uses. */
function newUserId(): string {
  return `user-${randomUUID()}`;
}

/** An email address no other test uses, with upper-case letters in it. */
function newEmail(name: string): string {
  return `${name}.${randomUUID().slice(0, 8)}@Example.com`;
}

/** A client acting as portal user `userId` of `tenant` (a user ID token, no permissions). */
async function userClient(userId: string, tenant = "alpha"): Promise<ContactsClient> {
  return h.client(await h.token({ kind: "user", sub: userId, tenant }));
}

async function countContacts(tenantId: string): Promise<number> {
  return h.em().count(ContactEntity, { tenantId });
}

/** Stored contacts of a tenant linked to a portal user. */
async function countLinked(tenantId: string, userId: string): Promise<number> {
  return h.em().count(ContactEntity, { tenantId, userIds: { $contains: [userId] } });
}

/** The errors the rejected calls of an allSettled rejected with. */
function rejectionsOf(results: PromiseSettledResult<unknown>[]): Awaited<ReturnType<typeof rejection>>[] {
  return results
    .filter((r): r is PromiseRejectedResult => r.status === "rejected")
    .map((r) => r.reason as Awaited<ReturnType<typeof rejection>>);
}

const person = { subtype: "person" as const, firstName: "Pat", lastName: "Portal" };

describe("me", () => {
  it("answers 404 to me.get while the user has no contact", async () => {
    const me = await userClient(newUserId());
    const error = await rejection(me.me.get.query());
    expect(error.status).toBe(404);
    expect(error.code).toBe("NOT_FOUND");
    expect(error.errors).toEqual([{ reason: "not_found", field: null }]);
  });

  it("creates the user's contact linked to the user (masked), returns it from me.get, and refuses a second with 409", async () => {
    const userId = newUserId();
    const me = await userClient(userId);

    const created = await me.me.create.mutate({ contact: { ...person, taxId: "123-45-6789" } });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.firstName).toBe("Pat");
    expect(created.lastName).toBe("Portal");
    expect(created.userIds).toEqual([userId]);
    expect(created.taxId).toBe("***-**-6789");
    expect(created.createdBy).toBe(`user:${userId}`);

    expect(await me.me.get.query()).toEqual(created);
    expect(await countLinked("alpha", userId)).toBe(1);

    const before = await countContacts("alpha");
    const error = await rejection(me.me.create.mutate({ contact: { ...person, firstName: "Again" } }));
    expect(error.status).toBe(409);
    expect(error.code).toBe("CONFLICT");
    expect(error.errors).toEqual([{ reason: "duplicate", field: null }]);
    expect(await countContacts("alpha")).toBe(before);
    expect(await countLinked("alpha", userId)).toBe(1);
    expect(await me.me.get.query()).toEqual(created);
  });

  it("keeps the user id once when the contact already lists it", async () => {
    const userId = newUserId();
    const me = await userClient(userId);
    const created = await me.me.create.mutate({ contact: { ...person, userIds: [userId] } });
    expect(created.userIds).toEqual([userId]);
  });

  it("keeps who manages a contact, and its links, the tenant's to set: 403 naming each field", async () => {
    const userId = newUserId();
    const me = await userClient(userId);
    const manager = await h.alpha.contacts.create.mutate({ contact: person });
    const before = await countContacts("alpha");
    const error = await rejection(
      me.me.create.mutate({
        contact: { ...person, portalDelegates: [manager.id], roles: ["PRIMARY"], externalId: "x-1" },
      }),
    );
    expect(error.status).toBe(403);
    expect(error.errors).toEqual([
      { reason: "forbidden", field: "contact.portalDelegates" },
      { reason: "forbidden", field: "contact.roles" },
      { reason: "forbidden", field: "contact.externalId" },
    ]);
    expect(await countContacts("alpha")).toBe(before);
  });

  it("refuses to link the user's own contact to another portal user, and stores nothing", async () => {
    const userId = newUserId();
    const me = await userClient(userId);
    const before = await countContacts("alpha");
    const error = await rejection(
      me.me.create.mutate({ contact: { ...person, userIds: [userId, "someone-else"] } }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ reason: "invalid", field: "contact.userIds.1" }]);
    expect(await countContacts("alpha")).toBe(before);
    expect(await countLinked("alpha", "someone-else")).toBe(0);
  });

  it("lets exactly one of two concurrent me.create calls for the same user succeed; the other is 409", async () => {
    const userId = newUserId();
    // Two clients: two separate HTTP requests, not one batch.
    const [first, second] = [await userClient(userId), await userClient(userId)];
    const results = await Promise.allSettled([
      first.me.create.mutate({ contact: { ...person, firstName: "One" } }),
      second.me.create.mutate({ contact: { ...person, firstName: "Two" } }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const errors = rejectionsOf(results);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.status).toBe(409);
    expect(errors[0]?.errors).toEqual([{ reason: "duplicate", field: null }]);
    expect(await countLinked("alpha", userId)).toBe(1);
  });

  it("lets exactly one of two me.create calls for the same user in one batch succeed; the other is 409", async () => {
    const userId = newUserId();
    const me = await userClient(userId);
    // One client, same tick: the typed client sends both calls in one HTTP batch.
    const results = await Promise.allSettled([
      me.me.create.mutate({ contact: { ...person, firstName: "One" } }),
      me.me.create.mutate({ contact: { ...person, firstName: "Two" } }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const errors = rejectionsOf(results);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.status).toBe(409);
    expect(errors[0]?.errors).toEqual([{ reason: "duplicate", field: null }]);
    expect(await countLinked("alpha", userId)).toBe(1);
  });

  it("keeps the same user id in two tenants apart", async () => {
    const userId = newUserId();
    const inAlpha = await userClient(userId, "alpha");
    const inBravo = await userClient(userId, "bravo");
    await inAlpha.me.create.mutate({ contact: person });

    const error = await rejection(inBravo.me.get.query());
    expect(error.status).toBe(404);
    expect(error.code).toBe("NOT_FOUND");
    expect(await countLinked("bravo", userId)).toBe(0);

    // Bravo's user can create its own contact: alpha's does not count as a duplicate.
    const theirs = await inBravo.me.create.mutate({ contact: { ...person, firstName: "Bravo" } });
    expect((await inBravo.me.get.query()).id).toBe(theirs.id);
    expect((await inAlpha.me.get.query()).firstName).toBe("Pat");
  });

  it("refuses an API key with 403 on me.get and me.create, and stores nothing", async () => {
    const before = await countContacts("alpha");
    for (const call of [() => h.alpha.me.get.query(), () => h.alpha.me.create.mutate({ contact: person })]) {
      const error = await rejection(call());
      expect(error.status).toBe(403);
      expect(error.code).toBe("FORBIDDEN");
      expect(error.errors).toEqual([{ reason: "forbidden", field: null }]);
    }
    expect(await countContacts("alpha")).toBe(before);
  });

  it("rejects an invalid contact with 400 naming contact.lastName, and stores nothing", async () => {
    const userId = newUserId();
    const me = await userClient(userId);
    const before = await countContacts("alpha");
    const error = await rejection(
      me.me.create.mutate({ contact: { subtype: "person", firstName: "Pat" } as never }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.errors).toContainEqual({ reason: "required", field: "contact.lastName" });
    expect(await countContacts("alpha")).toBe(before);
    expect(await countLinked("alpha", userId)).toBe(0);
    expect((await rejection(me.me.get.query())).status).toBe(404);
  });

  it("returns only the asked fields (plus id) with `fields`", async () => {
    const me = await userClient(newUserId());
    const created = await me.me.create.mutate({ contact: person });
    expect(await me.me.get.query({ fields: ["firstName"] })).toEqual({ id: created.id, firstName: "Pat" });
  });
});

describe("contacts.canManage", () => {
  it("answers whether a manager is among the delegates of the contact with an email (case-insensitively)", async () => {
    const email = newEmail("Owner");
    const manager = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Mia", lastName: "Manager" },
    });
    const other = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Nat", lastName: "Nobody" },
    });
    const owner = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "Olly",
        lastName: "Owner",
        emails: [{ address: email, label: "work", primary: true }],
        portalDelegates: [manager.id],
      },
    });

    expect(
      await h.alpha.contacts.canManage.query({ managerId: manager.id, emailAddress: email.toLowerCase() }),
    ).toEqual({ canManage: true, contactId: owner.id });
    expect(
      await h.alpha.contacts.canManage.query({ managerId: other.id, emailAddress: email.toLowerCase() }),
    ).toEqual({ canManage: false, contactId: owner.id });
  });

  it("answers 404 naming managerId for an unknown manager, and emailAddress for an unknown email", async () => {
    const email = newEmail("Known");
    const manager = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Mia", lastName: "Manager" },
    });
    await h.alpha.contacts.create.mutate({
      contact: { ...person, emails: [{ address: email, label: "work", primary: true }] },
    });

    const unknownManager = await rejection(
      h.alpha.contacts.canManage.query({ managerId: randomUUID(), emailAddress: email }),
    );
    expect(unknownManager.status).toBe(404);
    expect(unknownManager.errors).toEqual([{ reason: "not_found", field: "managerId" }]);

    const unknownEmail = await rejection(
      h.alpha.contacts.canManage.query({ managerId: manager.id, emailAddress: newEmail("nobody") }),
    );
    expect(unknownEmail.status).toBe(404);
    expect(unknownEmail.errors).toEqual([{ reason: "not_found", field: "emailAddress" }]);
  });

  it("rejects a malformed email with 400 naming emailAddress", async () => {
    const manager = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Mia", lastName: "Manager" },
    });
    const error = await rejection(
      h.alpha.contacts.canManage.query({ managerId: manager.id, emailAddress: "not-an-email" }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ reason: "invalid", field: "emailAddress" }]);
  });

  it("does not see another tenant's manager or email", async () => {
    const email = newEmail("Owner");
    const manager = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Mia", lastName: "Manager" },
    });
    await h.alpha.contacts.create.mutate({
      contact: {
        ...person,
        emails: [{ address: email, label: "work", primary: true }],
        portalDelegates: [manager.id],
      },
    });

    const theirManager = await rejection(
      h.bravo.contacts.canManage.query({ managerId: manager.id, emailAddress: email }),
    );
    expect(theirManager.status).toBe(404);
    expect(theirManager.errors).toEqual([{ reason: "not_found", field: "managerId" }]);

    const bravoManager = await h.bravo.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Bea", lastName: "Manager" },
    });
    const theirEmail = await rejection(
      h.bravo.contacts.canManage.query({ managerId: bravoManager.id, emailAddress: email }),
    );
    expect(theirEmail.status).toBe(404);
    expect(theirEmail.errors).toEqual([{ reason: "not_found", field: "emailAddress" }]);
  });
});

describe("contacts.socialProfile", () => {
  const social = {
    website: "https://example.com/sam",
    linkedin: "sam-social",
    twitter: "@sam",
    facebook: null,
    instagram: "sam.pics",
  };

  function expectedGravatar(address: string): string {
    const hash = createHash("sha256").update(address.trim().toLowerCase()).digest("hex");
    return `https://www.gravatar.com/avatar/${hash}?d=404`;
  }

  it("answers the tenant's social links and the Gravatar URL for a known email", async () => {
    const email = newEmail("Sam.Social");
    const contact = await h.alpha.contacts.create.mutate({
      contact: { ...person, emails: [{ address: email, label: "work", primary: true }], social },
    });
    expect(await h.alpha.contacts.socialProfile.query({ emailAddress: email })).toEqual({
      emailAddress: email.toLowerCase(),
      gravatarUrl: expectedGravatar(email),
      contactId: contact.id,
      social,
      source: "offline",
    });
  });

  it("answers 404 on emailAddress for an address no contact holds and the provider does not know", async () => {
    const error = await rejection(
      h.alpha.contacts.socialProfile.query({ emailAddress: newEmail("Unknown") }),
    );
    expect([error.status, error.errors]).toEqual([404, [{ reason: "not_found", field: "emailAddress" }]]);
  });

  it("answers what the provider knows of an address no contact holds", async () => {
    const email = `Nobody.${randomUUID().slice(0, 8)}@enriched.example`;
    expect(await h.alpha.contacts.socialProfile.query({ emailAddress: email })).toEqual({
      emailAddress: email.toLowerCase(),
      gravatarUrl: expectedGravatar(email),
      contactId: null,
      social: {
        website: null,
        linkedin: "found-by-provider",
        twitter: null,
        facebook: null,
        instagram: null,
      },
      source: "enrichment",
    });
  });

  it("does not show another tenant's contact: 404 in the other tenant", async () => {
    const email = newEmail("Alpha.Only");
    await h.alpha.contacts.create.mutate({
      contact: { ...person, emails: [{ address: email, label: "work", primary: true }], social },
    });
    const error = await rejection(h.bravo.contacts.socialProfile.query({ emailAddress: email }));
    expect([error.status, error.errors]).toEqual([404, [{ reason: "not_found", field: "emailAddress" }]]);
    expect((await h.alpha.contacts.socialProfile.query({ emailAddress: email })).source).toBe("offline");
  });

  it("answers 403 without contacts:read", async () => {
    const writeOnly = h.client(await h.keyWith("alpha", ["contacts:write"]));
    const error = await rejection(writeOnly.contacts.socialProfile.query({ emailAddress: newEmail("x") }));
    expect(error.status).toBe(403);
    expect(error.code).toBe("FORBIDDEN");
    expect(error.errors).toEqual([{ reason: "forbidden", field: null }]);
  });
});
