import { describe, expect, it } from "vitest";

import { ContactInput } from "./contact.js";
import { DUPLICATE_CONFIDENCE, duplicateKeys, normalizePostalCode, scoreMatch } from "./duplicates.js";
import type { DuplicateKeys } from "./duplicates.js";

/** The keys of a contact as `ContactInput` normalizes it (E.164 phones, trimmed text). */
function keysOf(input: ContactInput): DuplicateKeys {
  return duplicateKeys(ContactInput.parse(input));
}

function person(firstName: string, lastName: string, postalCode: string | null): ContactInput {
  return { subtype: "person", firstName, lastName, addresses: postalCode ? [{ postalCode }] : [] };
}

function shared(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((k) => b.includes(k));
}

describe("duplicateKeys: names", () => {
  it("gives Jon Smith and John Smyth at the same postal code a common key", () => {
    const jon = keysOf(person("Jon", "Smith", "10001"));
    const john = keysOf(person("John", "Smyth", "10001"));
    expect(jon.names).toContain("JN|SM0|10001");
    expect(shared(jon.names, john.names)).toContain("JN|SM0|10001");
  });

  it("keeps every primary/alternate combination of first and last name", () => {
    expect(keysOf(person("Jon", "Smith", "10001")).names).toEqual([
      "AN|SM0|10001",
      "AN|XMT|10001",
      "JN|SM0|10001",
      "JN|XMT|10001",
    ]);
  });

  it("gives the same names at different postal codes no common key", () => {
    const a = keysOf(person("Jon", "Smith", "10001"));
    const b = keysOf(person("John", "Smyth", "10002"));
    expect(shared(a.names, b.names)).toEqual([]);
  });

  it("gives different names at one postal code no common key", () => {
    const a = keysOf(person("Jon", "Smith", "10001"));
    const b = keysOf(person("Jane", "Miller", "10001"));
    expect(shared(a.names, b.names)).toEqual([]);
  });

  it("has no name key without a postal code", () => {
    expect(keysOf(person("Jon", "Smith", null)).names).toEqual([]);
    expect(keysOf({ ...person("Jon", "Smith", null), addresses: [{ city: "New York" }] }).names).toEqual([]);
  });

  it("has no name key for a name without Latin letters", () => {
    expect(keysOf(person("李", "小龙", "10001")).names).toEqual([]);
  });

  it("ignores case and diacritics in names", () => {
    const a = keysOf(person("José", "Müller", "80331"));
    const b = keysOf(person("JOSE", "muller", "80331"));
    expect(a.names).toEqual(b.names);
    expect(a.names.length).toBeGreaterThan(0);
  });

  it("reads postal codes without case, spaces or a ZIP+4 extension", () => {
    expect(normalizePostalCode(" sw1a 1aa ")).toBe("SW1A1AA");
    expect(normalizePostalCode("10001-1234")).toBe("10001");
    expect(normalizePostalCode("1234-567")).toBe("1234567");
    expect(normalizePostalCode(" - ")).toBeNull();
    const a = keysOf(person("Jon", "Smith", "10001-1234"));
    const b = keysOf(person("Jon", "Smith", "10001"));
    expect(a.names).toEqual(b.names);
  });

  it("makes a key per postal code of the contact's addresses", () => {
    const keys = keysOf({
      ...person("Jon", "Smith", null),
      addresses: [{ postalCode: "10001" }, { postalCode: "94105", label: "work" }],
    });
    expect(keys.names).toContain("JN|SM0|10001");
    expect(keys.names).toContain("JN|SM0|94105");
  });

  it("keys a company on its name without legal form, at its postal code", () => {
    const a = keysOf({ subtype: "company", companyName: "Acme Inc.", addresses: [{ postalCode: "10001" }] });
    const b = keysOf({ subtype: "company", companyName: "ACME, LLC", addresses: [{ postalCode: "10001" }] });
    const c = keysOf({ subtype: "company", companyName: "Acme", addresses: [{ postalCode: "20001" }] });
    expect(a.names).toEqual(["AKM|10001"]);
    expect(b.names).toEqual(a.names);
    expect(shared(a.names, c.names)).toEqual([]);
  });

  it("never lets a company key meet a person key", () => {
    const company = keysOf({
      subtype: "company",
      companyName: "Smith",
      addresses: [{ postalCode: "10001" }],
    });
    const smith = keysOf(person("Smith", "Smith", "10001"));
    expect(shared(company.names, smith.names)).toEqual([]);
  });
});

describe("duplicateKeys: emails and phones", () => {
  it("compares emails trimmed and lower-cased", () => {
    const a = keysOf({ ...person("A", "B", null), emails: [{ address: "  Ada.Lovelace@Example.COM " }] });
    const b = keysOf({ ...person("C", "D", null), emails: [{ address: "ada.lovelace@example.com" }] });
    expect(a.emails).toEqual(["ada.lovelace@example.com"]);
    expect(shared(a.emails, b.emails)).toEqual(["ada.lovelace@example.com"]);
  });

  it("gives every format of one number the same E.164 key", () => {
    const formats = ["(415) 555-0100", "415.555.0100", "+1 415 555 0100", "1-415-555-0100", "4155550100"];
    for (const number of formats) {
      expect(
        keysOf({ ...person("A", "B", null), phones: [{ number, country: "US" }] }).phones,
        number,
      ).toEqual(["+14155550100"]);
    }
  });

  it("reads a number without + in the primary address's country", () => {
    const keys = keysOf({
      ...person("A", "B", null),
      addresses: [{ country: "GB", postalCode: "SW1A 1AA" }],
      phones: [{ number: "020 7946 0958" }],
    });
    expect(keys.phones).toEqual(["+442079460958"]);
  });

  it("has no phone key for a number that did not parse, and no repeats", () => {
    const keys = keysOf({
      ...person("A", "B", null),
      emails: [{ address: "a@example.com" }, { address: "b@example.com" }],
      phones: [
        { number: "123" },
        { number: "+1 415 555 0100" },
        { number: "+1 (415) 555-0100", label: "home" },
      ],
    });
    expect(keys.phones).toEqual(["+14155550100"]);
    expect(keys.emails).toEqual(["a@example.com", "b@example.com"]);
  });
});

describe("scoreMatch", () => {
  const base = { emails: [], phones: [], names: [] };
  const email = { ...base, emails: ["a@example.com"] };
  const phone = { ...base, phones: ["+14155550100"] };
  const name = { ...base, names: ["JN|SM0|10001"] };
  const all = { emails: email.emails, phones: phone.phones, names: name.names };

  function confidence(a: DuplicateKeys, b: DuplicateKeys): number {
    return scoreMatch(a, b)?.confidence ?? 0;
  }

  it("is null when nothing is shared", () => {
    expect(scoreMatch(email, phone)).toBeNull();
    expect(scoreMatch(base, base)).toBeNull();
  });

  it("gives one kind its own confidence", () => {
    expect(scoreMatch(email, all)).toEqual({
      confidence: DUPLICATE_CONFIDENCE.email,
      matches: [{ kind: "email", confidence: DUPLICATE_CONFIDENCE.email }],
    });
    expect(confidence(phone, all)).toBe(DUPLICATE_CONFIDENCE.phone);
    expect(confidence(name, all)).toBe(DUPLICATE_CONFIDENCE.name);
  });

  it("orders single kinds email over phone over name, and raises the score with each kind added", () => {
    expect(confidence(email, all)).toBeGreaterThan(confidence(phone, all));
    expect(confidence(phone, all)).toBeGreaterThan(confidence(name, all));
    const emailPhone = { ...email, phones: phone.phones };
    const phoneName = { ...phone, names: name.names };
    expect(confidence(emailPhone, all)).toBeGreaterThan(confidence(email, all));
    expect(confidence(phoneName, all)).toBeGreaterThan(confidence(phone, all));
    expect(confidence(all, all)).toBeGreaterThan(confidence(emailPhone, all));
    expect(confidence(all, all)).toBeLessThanOrEqual(1);
  });

  it("combines kinds as independent evidence", () => {
    expect(confidence({ ...email, phones: phone.phones }, all)).toBe(0.9925);
    // A phone and a name at one postal code together weigh about as much as an email.
    expect(confidence({ ...phone, names: name.names }, all)).toBe(0.955);
  });

  it("lists the matched kinds most telling first", () => {
    expect(scoreMatch(all, all)?.matches.map((m) => m.kind)).toEqual(["email", "phone", "name"]);
  });

  it("counts several shared keys of one kind once", () => {
    const two = { ...base, emails: ["a@example.com", "b@example.com"] };
    expect(confidence(two, two)).toBe(DUPLICATE_CONFIDENCE.email);
  });

  it("scores Jon Smith against John Smyth at the same postal code as a name match", () => {
    const match = scoreMatch(
      keysOf(person("Jon", "Smith", "10001")),
      keysOf(person("John", "Smyth", "10001")),
    );
    expect(match).toEqual({ confidence: 0.7, matches: [{ kind: "name", confidence: 0.7 }] });
  });
});
