import { describe, expect, it } from "vitest";
import { z } from "zod";

import {
  CONTACT_COMPUTED_FIELDS,
  computeContactFields,
  CONTACT_FIELDS,
  CONTACT_LIMITS,
  ContactField,
  ContactInput,
  ContactReplaceInput,
  ContactServerFields,
  followAccountAddress,
  projectContact,
} from "./contact.js";
import type { Contact, ContactData } from "./contact.js";
import { fieldErrorsFromZod } from "./errors.js";

const ACCOUNT_ID = "6f0c1c8e-3f57-4b4e-9d3a-0b8a7f1d2c01";
const DELEGATE_ID = "0d3c6a52-9a0b-4c8e-8f5e-2b7d1e4a9c02";
const SPOUSE_ID = "a4b2e7d1-5c3f-4e8a-9b6d-7f0e1c2d3b03";

/** The smallest valid person. */
const person: ContactInput = { subtype: "person", firstName: "Ada", lastName: "Lovelace" };

/** Parses a contact that must be accepted; a rejection fails with its field errors. */
function parse(input: unknown): ContactData {
  const result = ContactInput.safeParse(input);
  if (!result.success)
    throw new Error(`rejected: ${JSON.stringify(fieldErrorsFromZod(result.error.issues))}`);
  return result.data;
}

/** The `{ reason, field }` pairs of a contact that must be rejected. */
function errorsOf(input: unknown): { reason: string; field: string | null }[] {
  const result = ContactInput.safeParse(input);
  if (result.success) throw new Error("expected the contact to be rejected");
  return fieldErrorsFromZod(result.error.issues, undefined, { input }).map(({ reason, field }) => ({
    reason,
    field,
  }));
}

function isoDate(daysFromToday: number): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + daysFromToday);
  return d.toISOString().slice(0, 10);
}

const fullInput: ContactInput = {
  subtype: "person",
  prefix: " Dr. ",
  firstName: "  Ada ",
  middleName: "",
  lastName: "Lovelace",
  suffix: null,
  nickname: " Countess ",
  maidenName: "Byron",
  credentials: "FRS",
  jobTitle: " Analyst ",
  companyName: "Analytical Engines Ltd",
  username: "ada",
  group: " engineering ",
  accountId: ACCOUNT_ID,
  roles: ["PRIMARY", "TECHNICAL"],
  emails: [
    { address: " ada@example.com ", label: "work", primary: true },
    { address: "ada@home.example", label: "home" },
  ],
  phones: [
    { number: " (415) 555-0100 ", label: "work", primary: true },
    { number: "+44 20 7946 0958", label: "mobile", smsVerified: true },
    { number: "not a number", label: "other" },
  ],
  addresses: [
    {
      line1: " 1 Main St ",
      line2: "",
      city: "San Francisco",
      state: "CA",
      postalCode: "94105",
      country: "US",
      label: "work",
      primary: true,
    },
    {
      line1: "2 Beach Rd",
      city: "Miami",
      state: "FL",
      country: "US",
      label: "seasonal",
      seasonalStart: "12-01",
      seasonalEnd: "03-31",
    },
  ],
  preferredPhoneLabel: "mobile",
  preferredAddressLabel: "work",
  taxId: " 123-45-6789 ",
  gender: "female",
  pronouns: "she/her",
  dateOfBirth: "1815-12-10",
  dateOfDeath: "1852-11-27",
  status: "deceased",
  notes: "  First programmer.  ",
  social: { website: "https://example.com/ada", linkedin: " ", twitter: "@ada" },
  notificationPreferences: { doNotCall: true, doNotSurvey: true },
  userIds: ["user-1", " user-2 "],
  salutation: " Dear Ada ",
  imageUrl: "https://example.com/ada.png",
  linkWorkAddressToAccount: true,
  linkWorkPhoneToAccount: true,
  communicationPreferences: ["newsletter", " events "],
  communicationPreferencesLastConfirmed: "2024-03-01T10:00:00+01:00",
  dateProfileLastUpdated: "2024-03-02T09:30:00Z",
  portalDelegates: [DELEGATE_ID],
  spouseId: SPOUSE_ID,
  customFields: { shoeSize: 38, vip: true, nick: "A", none: null },
  externalId: " EXT-1 ",
  originService: "crm",
  locked: true,
  integration: false,
};

const fullOutput: ContactData = {
  subtype: "person",
  prefix: "Dr.",
  firstName: "Ada",
  middleName: null,
  lastName: "Lovelace",
  suffix: null,
  nickname: "Countess",
  maidenName: "Byron",
  credentials: "FRS",
  jobTitle: "Analyst",
  companyName: "Analytical Engines Ltd",
  username: "ada",
  group: "engineering",
  accountId: ACCOUNT_ID,
  roles: ["PRIMARY", "TECHNICAL"],
  emails: [
    { address: "ada@example.com", label: "work", primary: true },
    { address: "ada@home.example", label: "home", primary: false },
  ],
  phones: [
    {
      number: "(415) 555-0100",
      e164: "+14155550100",
      valid: true,
      country: "US",
      extension: null,
      label: "work",
      primary: true,
      smsVerified: false,
      mask: null,
    },
    {
      number: "+44 20 7946 0958",
      e164: "+442079460958",
      valid: true,
      country: "GB",
      extension: null,
      label: "mobile",
      primary: false,
      smsVerified: true,
      mask: null,
    },
    {
      number: "not a number",
      e164: null,
      valid: false,
      country: null,
      extension: null,
      label: "other",
      primary: false,
      smsVerified: false,
      mask: null,
    },
  ],
  addresses: [
    {
      line1: "1 Main St",
      line2: null,
      city: "San Francisco",
      state: "CA",
      postalCode: "94105",
      country: "US",
      label: "work",
      primary: true,
      seasonalStart: null,
      seasonalEnd: null,
    },
    {
      line1: "2 Beach Rd",
      line2: null,
      city: "Miami",
      state: "FL",
      postalCode: null,
      country: "US",
      label: "seasonal",
      primary: false,
      seasonalStart: "12-01",
      seasonalEnd: "03-31",
    },
  ],
  preferredPhoneLabel: "mobile",
  preferredAddressLabel: "work",
  taxId: "123-45-6789",
  gender: "female",
  pronouns: "she/her",
  dateOfBirth: "1815-12-10",
  dateOfDeath: "1852-11-27",
  status: "deceased",
  notes: "First programmer.",
  social: {
    website: "https://example.com/ada",
    linkedin: null,
    twitter: "@ada",
    facebook: null,
    instagram: null,
  },
  notificationPreferences: {
    doNotCall: true,
    doNotEmail: false,
    doNotFax: false,
    doNotMail: false,
    doNotSurvey: true,
  },
  userIds: ["user-1", "user-2"],
  salutation: "Dear Ada",
  imageUrl: "https://example.com/ada.png",
  linkWorkAddressToAccount: true,
  linkWorkPhoneToAccount: true,
  communicationPreferences: ["newsletter", "events"],
  communicationPreferencesLastConfirmed: "2024-03-01T09:00:00.000Z",
  dateProfileLastUpdated: "2024-03-02T09:30:00.000Z",
  portalDelegates: [DELEGATE_ID],
  spouseId: SPOUSE_ID,
  customFields: { shoeSize: 38, vip: true, nick: "A", none: null },
  externalId: "EXT-1",
  originService: "crm",
  locked: true,
  integration: false,
};

const minimalOutput: ContactData = {
  subtype: "person",
  prefix: null,
  firstName: "Ada",
  middleName: null,
  lastName: "Lovelace",
  suffix: null,
  nickname: null,
  maidenName: null,
  credentials: null,
  jobTitle: null,
  companyName: null,
  username: null,
  group: null,
  accountId: null,
  roles: [],
  emails: [],
  phones: [],
  addresses: [],
  preferredPhoneLabel: null,
  preferredAddressLabel: null,
  taxId: null,
  gender: null,
  pronouns: null,
  dateOfBirth: null,
  dateOfDeath: null,
  status: "active",
  notes: null,
  social: { website: null, linkedin: null, twitter: null, facebook: null, instagram: null },
  notificationPreferences: {
    doNotCall: false,
    doNotEmail: false,
    doNotFax: false,
    doNotMail: false,
    doNotSurvey: false,
  },
  salutation: null,
  imageUrl: null,
  linkWorkAddressToAccount: false,
  linkWorkPhoneToAccount: false,
  communicationPreferences: [],
  communicationPreferencesLastConfirmed: null,
  dateProfileLastUpdated: null,
  userIds: [],
  portalDelegates: [],
  spouseId: null,
  customFields: {},
  externalId: null,
  originService: null,
  locked: false,
  integration: false,
};

describe("ContactInput: parsing and normalization", () => {
  it("parses a full contact with every field group, trimming text and filling nulls and defaults", () => {
    expect(parse(fullInput)).toEqual(fullOutput);
  });

  it("fills every absent field of a minimal person with null, [] or its default", () => {
    expect(parse(person)).toEqual(minimalOutput);
  });

  it("treats explicit nulls like absent values", () => {
    expect(
      parse({ ...person, middleName: null, accountId: null, taxId: null, dateOfBirth: null, group: null }),
    ).toEqual(minimalOutput);
  });

  it("turns blank text into null", () => {
    expect(parse({ ...person, nickname: "   ", notes: "" })).toMatchObject({ nickname: null, notes: null });
  });

  it("outputs every contact field except the server-managed and computed ones", () => {
    const serverFields: string[] = [...Object.keys(ContactServerFields.shape), ...CONTACT_COMPUTED_FIELDS];
    expect(Object.keys(parse(person)).sort()).toEqual(
      CONTACT_FIELDS.filter((f) => !serverFields.includes(f)).sort(),
    );
  });

  it.each([
    ["the full contact", fullInput],
    ["a minimal person", person],
    ["a company", { subtype: "company", companyName: "Acme" }],
    [
      "phones read with the address region and unparseable ones",
      {
        ...person,
        addresses: [{ country: "us", primary: true }],
        phones: [
          { number: "(415) 555-0100" },
          { number: "123" },
          { number: "(415) 555-0101 ext. 7", country: "ca" },
        ],
      },
    ],
  ])("round-trips %s: parsing the normalized output gives it back unchanged", (_name, input) => {
    const once = parse(input);
    expect(parse(once)).toEqual(once);
    expect(parse(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });
});

describe("ContactInput: subtype rules", () => {
  it("requires firstName and lastName on a person", () => {
    expect(errorsOf({ subtype: "person" })).toEqual([
      { reason: "required", field: "firstName" },
      { reason: "required", field: "lastName" },
    ]);
  });

  it("requires lastName alone when only it is missing, and counts blank names as missing", () => {
    expect(errorsOf({ subtype: "person", firstName: "Ada", lastName: "   " })).toEqual([
      { reason: "required", field: "lastName" },
    ]);
  });

  it("requires companyName on a company", () => {
    expect(errorsOf({ subtype: "company", firstName: "Ada", lastName: "Lovelace" })).toEqual([
      { reason: "required", field: "companyName" },
    ]);
  });

  it("accepts a company without personal names", () => {
    expect(parse({ subtype: "company", companyName: " Acme " })).toMatchObject({
      subtype: "company",
      companyName: "Acme",
      firstName: null,
      lastName: null,
    });
  });

  it("requires the subtype itself", () => {
    expect(errorsOf({ firstName: "Ada", lastName: "Lovelace" })).toEqual([
      { reason: "required", field: "subtype" },
    ]);
  });

  it("rejects an unknown subtype", () => {
    expect(errorsOf({ ...person, subtype: "robot" })).toEqual([{ reason: "invalid", field: "subtype" }]);
  });
});

describe("ContactInput: primaries", () => {
  it("rejects a second primary email at emails.1.primary", () => {
    expect(
      errorsOf({
        ...person,
        emails: [
          { address: "a@example.com", primary: true },
          { address: "b@example.com", primary: true },
        ],
      }),
    ).toEqual([{ reason: "multiple_primary", field: "emails.1.primary" }]);
  });

  it("rejects every primary phone after the first", () => {
    expect(
      errorsOf({
        ...person,
        phones: [
          { number: "+14155550100", primary: true },
          { number: "+14155550101" },
          { number: "+14155550102", primary: true },
          { number: "+14155550103", primary: true },
        ],
      }),
    ).toEqual([
      { reason: "multiple_primary", field: "phones.2.primary" },
      { reason: "multiple_primary", field: "phones.3.primary" },
    ]);
  });

  it("rejects a second primary address", () => {
    expect(
      errorsOf({
        ...person,
        addresses: [{ city: "A" }, { city: "B", primary: true }, { city: "C", primary: true }],
      }),
    ).toEqual([{ reason: "multiple_primary", field: "addresses.2.primary" }]);
  });

  it("accepts one primary per list, and none at all", () => {
    expect(() =>
      parse({
        ...person,
        emails: [{ address: "a@example.com", primary: true }, { address: "b@example.com" }],
        phones: [{ number: "+14155550100" }, { number: "+14155550101" }],
        addresses: [{ city: "A", primary: true }],
      }),
    ).not.toThrow();
  });
});

describe("ContactInput: server-managed and unknown fields", () => {
  const serverValues: Record<string, unknown> = {
    id: "6f0c1c8e-3f57-4b4e-9d3a-0b8a7f1d2c09",
    tenantId: "acme",
    number: 7,
    version: 1,
    createdAt: "2026-01-01T00:00:00Z",
    createdBy: "user:1",
    updatedAt: "2026-01-01T00:00:00Z",
    updatedBy: "user:1",
    provenance: null,
    lastBulkImport: null,
    mergedIds: [],
  };

  it.each(Object.keys(serverValues))("rejects %s with reason server_managed", (key) => {
    expect(errorsOf({ ...person, [key]: serverValues[key] })).toEqual([
      { reason: "server_managed", field: key },
    ]);
  });

  it("reports each server-managed and unknown key separately", () => {
    expect(
      errorsOf({ ...person, id: serverValues.id, version: 3, nickName: "Ada", favouriteColour: "blue" }),
    ).toEqual([
      { reason: "server_managed", field: "id" },
      { reason: "server_managed", field: "version" },
      { reason: "unknown_field", field: "nickName" },
      { reason: "unknown_field", field: "favouriteColour" },
    ]);
  });

  it("still validates the rest of the contact when server-managed keys are sent", () => {
    expect(errorsOf({ subtype: "person", id: serverValues.id, createdBy: "me" })).toEqual([
      { reason: "server_managed", field: "id" },
      { reason: "server_managed", field: "createdBy" },
      { reason: "required", field: "firstName" },
      { reason: "required", field: "lastName" },
    ]);
  });

  it("reports server-managed keys at their full path when the contact is nested in a request", () => {
    const Request = z.strictObject({ id: z.uuid(), contact: ContactInput });
    const input = {
      id: serverValues.id,
      contact: { subtype: "person", firstName: "Ada", id: "x", colour: "red" },
    };
    const result = Request.safeParse(input);
    expect(
      fieldErrorsFromZod(result.error?.issues ?? [], undefined, { input }).map(({ reason, field }) => ({
        reason,
        field,
      })),
    ).toEqual([
      { reason: "server_managed", field: "contact.id" },
      { reason: "unknown_field", field: "contact.colour" },
      { reason: "required", field: "contact.lastName" },
    ]);
  });

  it("gives the same reasons when parsed with reportInput and no input passed along", () => {
    const result = ContactInput.safeParse(
      { subtype: "person", id: "x", firstName: 5 },
      { reportInput: true },
    );
    expect(
      fieldErrorsFromZod(result.error?.issues ?? []).map(({ reason, field }) => ({ reason, field })),
    ).toEqual([
      { reason: "server_managed", field: "id" },
      { reason: "invalid", field: "firstName" },
    ]);
  });

  it("rejects unknown fields inside list items and nested objects, with their dotted path", () => {
    expect(
      errorsOf({
        ...person,
        emails: [{ address: "a@example.com", id: "x" }],
        addresses: [{ city: "A" }, { city: "B", county: "C" }],
        social: { myspace: "ada" },
        notificationPreferences: { doNotSpam: true },
      }),
    ).toEqual([
      { reason: "unknown_field", field: "emails.0.id" },
      { reason: "unknown_field", field: "addresses.1.county" },
      { reason: "unknown_field", field: "social.myspace" },
      { reason: "unknown_field", field: "notificationPreferences.doNotSpam" },
    ]);
  });
});

describe("ContactInput: formats", () => {
  it("rejects an invalid email at emails.0.address", () => {
    expect(errorsOf({ ...person, emails: [{ address: "ada(at)example.com" }] })).toEqual([
      { reason: "invalid", field: "emails.0.address" },
    ]);
  });

  it("requires an email's address", () => {
    expect(errorsOf({ ...person, emails: [{ label: "work" }] })).toEqual([
      { reason: "required", field: "emails.0.address" },
    ]);
  });

  it("rejects an unknown label", () => {
    expect(errorsOf({ ...person, phones: [{ number: "+14155550100", label: "cell" }] })).toEqual([
      { reason: "invalid", field: "phones.0.label" },
    ]);
  });

  it("rejects a non-uuid account and spouse", () => {
    expect(errorsOf({ ...person, accountId: "42", spouseId: "x" })).toEqual([
      { reason: "invalid", field: "accountId" },
      { reason: "invalid", field: "spouseId" },
    ]);
  });

  it("rejects a role code that is not upper-case", () => {
    expect(errorsOf({ ...person, roles: ["PRIMARY", "billing"] })).toEqual([
      { reason: "invalid", field: "roles.1" },
    ]);
  });

  it("rejects a malformed date and season", () => {
    expect(
      errorsOf({ ...person, dateOfBirth: "1815-13-01", addresses: [{ city: "A", seasonalStart: "13-01" }] }),
    ).toEqual([
      { reason: "invalid", field: "addresses.0.seasonalStart" },
      { reason: "invalid", field: "dateOfBirth" },
    ]);
  });

  it("rejects a wrongly typed value as invalid, not required", () => {
    expect(errorsOf({ ...person, locked: "yes", notificationPreferences: { doNotCall: 1 } })).toEqual([
      { reason: "invalid", field: "notificationPreferences.doNotCall" },
      { reason: "invalid", field: "locked" },
    ]);
  });

  it("rejects a custom field key that is not an identifier and a value of another type", () => {
    expect(errorsOf({ ...person, customFields: { "1st": 1, ok: { nested: true } } })).toEqual([
      { reason: "invalid", field: "customFields.1st" },
      { reason: "invalid", field: "customFields.ok" },
    ]);
  });

  it("rejects a group shorter than two characters", () => {
    expect(errorsOf({ ...person, group: " a " })).toEqual([{ reason: "too_short", field: "group" }]);
  });
});

describe("ContactInput: length limits", () => {
  it("accepts a name at the limit and rejects one character more with too_long", () => {
    expect(parse({ ...person, firstName: "a".repeat(CONTACT_LIMITS.name) }).firstName).toHaveLength(
      CONTACT_LIMITS.name,
    );
    expect(errorsOf({ ...person, firstName: "a".repeat(CONTACT_LIMITS.name + 1) })).toEqual([
      { reason: "too_long", field: "firstName" },
    ]);
  });

  it("measures the limit after trimming", () => {
    expect(parse({ ...person, lastName: ` ${"b".repeat(CONTACT_LIMITS.name)} ` }).lastName).toHaveLength(
      CONTACT_LIMITS.name,
    );
  });

  it.each([
    ["jobTitle", CONTACT_LIMITS.text],
    ["notes", CONTACT_LIMITS.notes],
    ["prefix", 20],
    ["gender", 50],
    ["externalId", CONTACT_LIMITS.text],
  ])("rejects %s longer than %i characters", (field, max) => {
    expect(errorsOf({ ...person, [field]: "x".repeat(max + 1) })).toEqual([{ reason: "too_long", field }]);
  });

  it("rejects too long values inside lists and nested objects", () => {
    expect(
      errorsOf({
        ...person,
        phones: [{ number: "1".repeat(65) }],
        addresses: [{ postalCode: "9".repeat(21) }],
        social: { website: "w".repeat(CONTACT_LIMITS.text + 1) },
        customFields: { bio: "x".repeat(CONTACT_LIMITS.customFieldValue + 1) },
      }),
    ).toEqual([
      { reason: "too_long", field: "phones.0.number" },
      { reason: "too_long", field: "addresses.0.postalCode" },
      { reason: "too_long", field: "social.website" },
      { reason: "too_long", field: "customFields.bio" },
    ]);
  });

  it("rejects an email address longer than 254 characters as too_long", () => {
    expect(
      errorsOf({ ...person, emails: [{ address: `${"a".repeat(64)}@${"b".repeat(190)}.com` }] }),
    ).toContainEqual({
      reason: "too_long",
      field: "emails.0.address",
    });
  });

  it("rejects a tax id longer than 32 or shorter than 4 characters", () => {
    expect(errorsOf({ ...person, taxId: "1".repeat(33) })).toEqual([{ reason: "too_long", field: "taxId" }]);
    expect(errorsOf({ ...person, taxId: "123" })).toEqual([{ reason: "too_short", field: "taxId" }]);
  });
});

describe("ContactInput: list limits", () => {
  const emails = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `user${i}@example.com` }));
  const phones = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ number: `+1415555${String(i).padStart(4, "0")}` }));
  const addresses = (n: number) => Array.from({ length: n }, (_, i) => ({ city: `City ${i}` }));
  const roles = (n: number) => Array.from({ length: n }, (_, i) => `ROLE_${i}`);
  const customFields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));

  it("accepts every list at its limit", () => {
    const c = parse({
      ...person,
      emails: emails(CONTACT_LIMITS.emails),
      phones: phones(CONTACT_LIMITS.phones),
      addresses: addresses(CONTACT_LIMITS.addresses),
      roles: roles(CONTACT_LIMITS.roles),
      customFields: customFields(CONTACT_LIMITS.customFields),
    });
    expect([c.emails.length, c.phones.length, c.addresses.length, c.roles.length]).toEqual([
      CONTACT_LIMITS.emails,
      CONTACT_LIMITS.phones,
      CONTACT_LIMITS.addresses,
      CONTACT_LIMITS.roles,
    ]);
    expect(Object.keys(c.customFields)).toHaveLength(CONTACT_LIMITS.customFields);
  });

  it("rejects every list one item over its limit with too_big", () => {
    expect(
      errorsOf({
        ...person,
        emails: emails(CONTACT_LIMITS.emails + 1),
        phones: phones(CONTACT_LIMITS.phones + 1),
        addresses: addresses(CONTACT_LIMITS.addresses + 1),
        roles: roles(CONTACT_LIMITS.roles + 1),
        customFields: customFields(CONTACT_LIMITS.customFields + 1),
      }),
    ).toEqual([
      { reason: "too_big", field: "roles" },
      { reason: "too_big", field: "emails" },
      { reason: "too_big", field: "phones" },
      { reason: "too_big", field: "addresses" },
      { reason: "too_big", field: "customFields" },
    ]);
  });

  it("rejects more user ids and portal delegates than allowed", () => {
    const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    expect(
      errorsOf({
        ...person,
        userIds: Array.from({ length: CONTACT_LIMITS.userIds + 1 }, (_, i) => `u${i}`),
        portalDelegates: Array.from({ length: CONTACT_LIMITS.portalDelegates + 1 }, (_, i) => uuid(i)),
      }),
    ).toEqual([
      { reason: "too_big", field: "userIds" },
      { reason: "too_big", field: "portalDelegates" },
    ]);
  });
});

describe("ContactInput: duplicates", () => {
  it("rejects the same email twice, ignoring case and surrounding spaces", () => {
    expect(
      errorsOf({
        ...person,
        emails: [
          { address: "Ada@Example.com" },
          { address: "b@example.com" },
          { address: " ada@example.COM " },
        ],
      }),
    ).toEqual([{ reason: "duplicate", field: "emails.2.address" }]);
  });

  it("rejects duplicate roles, user ids (after trimming) and portal delegates", () => {
    expect(
      errorsOf({
        ...person,
        roles: ["PRIMARY", "PRIMARY"],
        userIds: ["u1", " u1 "],
        portalDelegates: [DELEGATE_ID, DELEGATE_ID],
      }),
    ).toEqual([
      { reason: "duplicate", field: "roles" },
      { reason: "duplicate", field: "userIds" },
      { reason: "duplicate", field: "portalDelegates" },
    ]);
  });
});

describe("ContactInput: preferred labels", () => {
  it("accepts a preferredPhoneLabel that one phone carries", () => {
    expect(
      parse({
        ...person,
        phones: [{ number: "+14155550100", label: "mobile" }],
        preferredPhoneLabel: "mobile",
      }).preferredPhoneLabel,
    ).toBe("mobile");
  });

  it("rejects a preferredPhoneLabel no phone carries, and one without any phone", () => {
    expect(
      errorsOf({
        ...person,
        phones: [{ number: "+14155550100", label: "work" }],
        preferredPhoneLabel: "home",
      }),
    ).toEqual([{ reason: "invalid", field: "preferredPhoneLabel" }]);
    expect(errorsOf({ ...person, preferredPhoneLabel: "work" })).toEqual([
      { reason: "invalid", field: "preferredPhoneLabel" },
    ]);
  });

  it("defaults a phone's label to work when matching preferredPhoneLabel", () => {
    expect(
      parse({ ...person, phones: [{ number: "+14155550100" }], preferredPhoneLabel: "work" }).phones[0]
        ?.label,
    ).toBe("work");
  });

  it("rejects a preferredAddressLabel no address carries", () => {
    expect(errorsOf({ ...person, addresses: [{ city: "A" }], preferredAddressLabel: "work" })).toEqual([
      { reason: "invalid", field: "preferredAddressLabel" },
    ]);
  });
});

describe("ContactInput: dates", () => {
  it("rejects a date of birth in the future", () => {
    expect(errorsOf({ ...person, dateOfBirth: isoDate(2) })).toEqual([
      { reason: "invalid", field: "dateOfBirth" },
    ]);
  });

  it("accepts a date of birth in the past", () => {
    expect(parse({ ...person, dateOfBirth: isoDate(-2) }).dateOfBirth).toBe(isoDate(-2));
  });

  it("rejects a date of death before the date of birth", () => {
    expect(errorsOf({ ...person, dateOfBirth: "1900-05-02", dateOfDeath: "1900-05-01" })).toEqual([
      { reason: "invalid", field: "dateOfDeath" },
    ]);
  });
});

describe("ContactInput: tax id", () => {
  it.each(["***-**-6789", "123-45-678*", "1234*"])(
    "rejects %j, which carries the mask character",
    (taxId) => {
      expect(errorsOf({ ...person, taxId }).map((e) => e.field)).toEqual(["taxId"]);
    },
  );

  it("rejects a masked tax id with reason invalid", () => {
    expect(errorsOf({ ...person, taxId: "***-**-6789" })).toEqual([{ reason: "invalid", field: "taxId" }]);
  });

  it.each(["123-45-6789", "12.345.678/0001-90", "AB 12 34 56 C", "GB123456789"])("accepts %j", (taxId) => {
    expect(parse({ ...person, taxId }).taxId).toBe(taxId);
  });
});

describe("ContactReplaceInput", () => {
  it("accepts the masked tax id read before, meaning unchanged", () => {
    expect(ContactReplaceInput.parse({ ...person, taxId: "***-**-6789" }).taxId).toBe("***-**-6789");
  });

  it("otherwise applies the same rules and normalization as ContactInput", () => {
    expect(ContactReplaceInput.parse(fullInput)).toEqual(fullOutput);
    expect(ContactReplaceInput.safeParse({ ...person, taxId: "***" }).success).toBe(false);
    expect(ContactReplaceInput.safeParse({ ...person, taxId: "12#4" }).success).toBe(false);
    const result = ContactReplaceInput.safeParse({ subtype: "company", version: 2 });
    expect(
      fieldErrorsFromZod(result.error?.issues ?? []).map(({ reason, field }) => ({ reason, field })),
    ).toEqual([
      { reason: "server_managed", field: "version" },
      { reason: "required", field: "companyName" },
    ]);
  });
});

describe("ContactInput: phones", () => {
  const phoneOf = (input: ContactInput, i = 0) => {
    const phone = parse(input).phones[i];
    if (!phone) throw new Error(`no phone ${i}`);
    return phone;
  };

  it("keeps Rackspace's display mask as sent (trimmed), null when absent", () => {
    const phones = [{ number: "8374384343", country: "US", mask: " (###)-###-#### " }];
    expect(phoneOf({ ...person, phones })).toMatchObject({ e164: "+18374384343", mask: "(###)-###-####" });
    expect(
      phoneOf({ ...person, phones: [{ number: "+44 20 7946 0958", mask: "+## ## #### ####" }] }).mask,
    ).toBe("+## ## #### ####");
    expect(phoneOf({ ...person, phones: [{ number: "1", mask: null }] }).mask).toBeNull();
    expect(phoneOf({ ...person, phones: [{ number: "1", mask: "  " }] }).mask).toBeNull();
  });

  it.each([
    ["no digit placeholder", "(000)-000-0000", "invalid"],
    ["letters", "(###) ABC-####", "invalid"],
    ["markup", "<b>###</b>", "invalid"],
    ["over 64 characters", "#".repeat(65), "too_long"],
    ["not text", 42, "invalid"],
  ])("rejects a mask with %s, naming it", (_name, mask, reason) => {
    const input = { ...person, phones: [{ number: "8374384343", mask }] };
    const result = ContactInput.safeParse(input);
    expect(result.success).toBe(false);
    expect(
      fieldErrorsFromZod(result.error?.issues ?? [], undefined, { input }).map(({ reason: r, field }) => ({
        reason: r,
        field,
      })),
    ).toEqual([{ reason, field: "phones.0.mask" }]);
  });

  it("normalizes to E.164 with the phone's own country, upper-casing it", () => {
    expect(phoneOf({ ...person, phones: [{ number: "(415) 555-0100", country: "US" }] })).toEqual({
      number: "(415) 555-0100",
      e164: "+14155550100",
      valid: true,
      country: "US",
      extension: null,
      label: "work",
      primary: false,
      smsVerified: false,
      mask: null,
    });
    expect(phoneOf({ ...person, phones: [{ number: "(415) 555-0100", country: "us" }] })).toMatchObject({
      e164: "+14155550100",
      country: "US",
    });
  });

  it("uses the primary address's country as the default region", () => {
    expect(
      phoneOf({
        ...person,
        addresses: [
          { city: "Paris", country: "FR" },
          { city: "SF", country: "US", primary: true },
        ],
        phones: [{ number: "(415) 555-0100" }],
      }),
    ).toMatchObject({ number: "(415) 555-0100", e164: "+14155550100", valid: true, country: "US" });
  });

  it("falls back to the first address's country when none is primary, and accepts a lower-case code", () => {
    expect(
      phoneOf({
        ...person,
        addresses: [{ country: "gb" }, { country: "US" }],
        phones: [{ number: "020 7946 0958" }],
      }),
    ).toMatchObject({ e164: "+442079460958", country: "GB" });
  });

  it("prefers the phone's own country over the address's", () => {
    expect(
      phoneOf({
        ...person,
        addresses: [{ country: "US", primary: true }],
        phones: [{ number: "020 7946 0958", country: "GB" }],
      }),
    ).toMatchObject({ e164: "+442079460958", country: "GB" });
  });

  it("ignores an address country that is not an ISO alpha-2 code", () => {
    expect(
      phoneOf({
        ...person,
        addresses: [{ country: "United States", primary: true }],
        phones: [{ number: "(415) 555-0100" }],
      }),
    ).toMatchObject({ e164: null, valid: false });
  });

  it("reads a number typed with + without any region", () => {
    expect(phoneOf({ ...person, phones: [{ number: "+44 20 7946 0958" }] })).toMatchObject({
      e164: "+442079460958",
      valid: true,
      country: "GB",
    });
  });

  it("keeps the extension apart", () => {
    expect(
      phoneOf({ ...person, phones: [{ number: "(415) 555-0100 ext. 42", country: "US" }] }),
    ).toMatchObject({
      number: "(415) 555-0100 ext. 42",
      e164: "+14155550100",
      extension: "42",
    });
  });

  it.each(["not a number", "123", "555-0100"])(
    "keeps %j as typed with e164 null and valid false",
    (number) => {
      expect(
        phoneOf({ ...person, addresses: [{ country: "US" }], phones: [{ number, label: "home" }] }),
      ).toEqual({
        number,
        e164: null,
        valid: false,
        country: null,
        extension: null,
        label: "home",
        primary: false,
        smsVerified: false,
        mask: null,
      });
    },
  );

  it("keeps the caller's country on an unparseable number", () => {
    expect(phoneOf({ ...person, phones: [{ number: "123", country: "US" }] })).toMatchObject({
      e164: null,
      valid: false,
      country: "US",
    });
  });

  it("recomputes e164, valid and extension, ignoring what the caller sent", () => {
    expect(
      phoneOf({
        ...person,
        phones: [{ number: "123", country: "US", e164: "+19999999999", valid: true, extension: "9" }],
      }),
    ).toMatchObject({ e164: null, valid: false, extension: null });
  });

  it("rejects an empty number and a malformed country", () => {
    expect(
      errorsOf({ ...person, phones: [{ number: "  " }, { number: "+14155550100", country: "USA" }] }),
    ).toEqual([
      { reason: "required", field: "phones.0.number" },
      { reason: "invalid", field: "phones.1.country" },
    ]);
  });
});

describe("ContactField and projectContact", () => {
  const contact: Contact = {
    ...fullOutput,
    ...computeContactFields(fullOutput, { accountName: "Engines", roleNames: ["Primary", "TECHNICAL"] }),
    id: "6f0c1c8e-3f57-4b4e-9d3a-0b8a7f1d2c10",
    number: 42,
    mergedIds: [],
    provenance: null,
    lastBulkImport: null,
    version: 3,
    createdAt: "2026-01-01T00:00:00.000Z",
    createdBy: "user:1",
    updatedAt: "2026-01-02T00:00:00.000Z",
    updatedBy: "user:2",
  };

  it("lists every field of a contact exactly once, id and number first", () => {
    expect(new Set(CONTACT_FIELDS).size).toBe(CONTACT_FIELDS.length);
    expect([...CONTACT_FIELDS].sort()).toEqual(Object.keys(contact).sort());
    expect(CONTACT_FIELDS.slice(0, 2)).toEqual(["id", "number"]);
  });

  it("accepts every contact field name and rejects others", () => {
    for (const field of CONTACT_FIELDS) expect(ContactField.parse(field)).toBe(field);
    expect(ContactField.safeParse("password").success).toBe(false);
    expect(ContactField.safeParse("tenantId").success).toBe(false);
  });

  it("returns only the asked fields plus id", () => {
    expect(projectContact(contact, ["firstName", "emails"])).toEqual({
      id: contact.id,
      firstName: "Ada",
      emails: contact.emails,
    });
  });

  it("returns id once when it is asked for", () => {
    expect(projectContact(contact, ["id", "version"])).toEqual({ id: contact.id, version: 3 });
  });

  it("keeps null values of asked fields", () => {
    expect(projectContact({ ...contact, taxId: null }, ["taxId"])).toEqual({ id: contact.id, taxId: null });
  });

  it.each([{ fields: undefined }, { fields: null }, { fields: [] }])(
    "returns the whole document for fields $fields",
    ({ fields }) => {
      expect(projectContact(contact, fields)).toEqual(contact);
    },
  );

  it("does not change the contact", () => {
    const before = structuredClone(contact);
    projectContact(contact, ["firstName"]);
    expect(contact).toEqual(before);
  });
});

describe("followAccountAddress", () => {
  const office = {
    line1: "1 Main St",
    line2: null,
    city: "Austin",
    state: "TX",
    postalCode: "78701",
    country: "US",
  };
  const linked = (addresses: unknown[]) =>
    ContactInput.parse({
      subtype: "company",
      companyName: "Acme",
      accountId: "6f0c1c8e-3f57-4b4e-9d3a-0b8a7f1d2c01",
      linkWorkAddressToAccount: true,
      addresses,
    });

  it("replaces the work addresses with the account's, in the first one's place, primary if one was", () => {
    const data = linked([
      { city: "Boston", label: "home" },
      { city: "Dallas", label: "work", primary: true, seasonalStart: "06-01" },
      { city: "Reno", label: "work" },
    ]);
    expect(followAccountAddress(data, office).addresses).toEqual([
      { ...data.addresses[0] },
      { ...office, label: "work", primary: true, seasonalStart: null, seasonalEnd: null },
    ]);
  });

  it("leaves the contact as it is (the same object) when unlinked, without an address, already following, or full", () => {
    const data = linked([{ city: "Boston", label: "home" }]);
    expect(followAccountAddress({ ...data, linkWorkAddressToAccount: false }, office).addresses).toHaveLength(
      1,
    );
    expect(followAccountAddress({ ...data, accountId: null }, office).addresses).toHaveLength(1);
    expect(followAccountAddress(data, null)).toBe(data);
    const followed = followAccountAddress(data, office);
    expect(followAccountAddress(followed, office)).toBe(followed);
    const full = linked(
      Array.from({ length: CONTACT_LIMITS.addresses }, () => ({ city: "Boston", label: "home" })),
    );
    expect(followAccountAddress(full, office)).toBe(full);
  });
});
