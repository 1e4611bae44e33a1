/**
 * Duplicate detection, the pure part: the match keys stored per contact (indexed, so candidates are
 * found by equality) and the confidence of a match between two contacts' keys.
 *
 * Phonetics: `double-metaphone` (wooorm), the double metaphone algorithm (Lawrence Philips) with a
 * primary and an alternate code per word; typed ESM with no dependencies, runs on Node 20 as it is.
 */
import { doubleMetaphone } from "double-metaphone";
import { z } from "zod";

import type { Address, ContactData, Email, Phone } from "./contact.js";
import { normalizeEmail } from "./email.js";

/** What two contacts can match on. `name` is the phonetic name at the same postal code. */
export const DuplicateMatchKind = z.enum(["email", "phone", "name"]);
export type DuplicateMatchKind = z.infer<typeof DuplicateMatchKind>;

/** What `contacts.create` does when the new contact matches an existing one. */
export const OnDuplicate = z.enum(["allow", "reject"]);
export type OnDuplicate = z.infer<typeof OnDuplicate>;

/**
 * How likely two contacts sharing one kind of key are the same: an email address is personal, a
 * phone may be a shared line, and a name spelt alike at the same postal code may be a namesake
 * (a parent and child, two "John Smith"s in one city district).
 */
export const DUPLICATE_CONFIDENCE = {
  email: 0.95,
  phone: 0.85,
  name: 0.7,
} as const satisfies Record<DuplicateMatchKind, number>;

/** The match keys of one contact, each list sorted and without repeats. */
export interface DuplicateKeys {
  /** Addresses as compared (`normalizeEmail`: trimmed, lower-cased). */
  emails: string[];
  /** E.164 numbers (`+14155550100`); numbers that did not parse have none, extensions are left out. */
  phones: string[];
  /**
   * Phonetic name at a postal code: `FIRST|LAST|POSTAL` for a person (`JN|SM0|10001`), every
   * primary/alternate combination of the two names; `COMPANY|POSTAL` for a company.
   */
  names: string[];
}

/** The parts of a normalized contact the keys are made from. */
export type DuplicateKeySource = Pick<ContactData, "subtype" | "firstName" | "lastName" | "companyName"> & {
  emails: readonly Pick<Email, "address">[];
  phones: readonly Pick<Phone, "e164">[];
  addresses: readonly Pick<Address, "postalCode">[];
};

/** Legal forms left out of a company name, so `Acme Inc.` and `ACME, LLC` sound alike. */
const COMPANY_LEGAL_FORMS = new Set([
  "ag",
  "bv",
  "co",
  "company",
  "corp",
  "corporation",
  "gmbh",
  "inc",
  "incorporated",
  "llc",
  "llp",
  "lp",
  "ltd",
  "limited",
  "plc",
  "sa",
  "sarl",
]);

/** Latin letters without their diacritics, lower-cased, one word per entry (digits kept). */
function words(text: string): string[] {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** The distinct double metaphone codes (primary, alternate) of a name; none when it has no Latin letters. */
function phoneticCodes(name: string): string[] {
  const text = words(name).join(" ");
  return [...new Set(doubleMetaphone(text))].filter(Boolean);
}

/** `FIRST|LAST` for every combination of the two names' codes. */
function personCodes(firstName: string | null, lastName: string | null): string[] {
  const last = phoneticCodes(lastName ?? "");
  return phoneticCodes(firstName ?? "").flatMap((f) => last.map((l) => `${f}|${l}`));
}

function companyCodes(companyName: string | null): string[] {
  const kept = words(companyName ?? "");
  while (kept.length > 1 && COMPANY_LEGAL_FORMS.has(kept[kept.length - 1] ?? "")) kept.pop();
  return phoneticCodes(kept.join(" "));
}

/**
 * A postal code as compared: upper-case letters and digits only (`sw1a 1aa` → `SW1A1AA`), and a US
 * ZIP+4 cut to its ZIP (`10001-1234` → `10001`) so it meets the same address typed without it.
 */
export function normalizePostalCode(postalCode: string): string | null {
  const trimmed = postalCode.trim().toUpperCase();
  const zip = /^(\d{5})[-\s]\d{4}$/.exec(trimmed)?.[1];
  const code = zip ?? trimmed.replace(/[^A-Z0-9]/g, "");
  return code || null;
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/**
 * The match keys of a normalized contact (the output of `ContactInput`). Name keys need a postal
 * code: a phonetic name alone matches far too many people, so a contact without any address postal
 * code, or whose name has no Latin letters to encode, has no name keys. Each postal code of the
 * contact's addresses gives its own keys. A person's keys come from first and last name, a company's
 * from its company name.
 */
export function duplicateKeys(contact: DuplicateKeySource): DuplicateKeys {
  const postalCodes = sortedUnique(
    contact.addresses.flatMap((a) => {
      const code = a.postalCode ? normalizePostalCode(a.postalCode) : null;
      return code ? [code] : [];
    }),
  );

  const phonetic =
    contact.subtype === "person"
      ? personCodes(contact.firstName, contact.lastName)
      : companyCodes(contact.companyName);

  return {
    emails: sortedUnique(contact.emails.map((e) => normalizeEmail(e.address))),
    phones: sortedUnique(contact.phones.flatMap((p) => (p.e164 ? [p.e164] : []))),
    names: sortedUnique(phonetic.flatMap((name) => postalCodes.map((postal) => `${name}|${postal}`))),
  };
}

/** A match between two contacts: each kind of key they share, and how likely they are one contact. */
export interface DuplicateMatch {
  /** In [0, 1]: the kinds' confidences combined as independent evidence, `1 - Π(1 - c)`. */
  confidence: number;
  /** The kinds that matched, most telling first, each with its DUPLICATE_CONFIDENCE. */
  matches: { kind: DuplicateMatchKind; confidence: number }[];
}

/**
 * How well two contacts' keys match, or null when they share none. Several shared keys of one kind
 * (two common emails) count once: they are usually the same evidence entered twice.
 */
export function scoreMatch(candidate: DuplicateKeys, target: DuplicateKeys): DuplicateMatch | null {
  const shares = (a: readonly string[], b: readonly string[]) => {
    const set = new Set(b);
    return a.some((k) => set.has(k));
  };
  const kinds: DuplicateMatchKind[] = [];
  if (shares(candidate.emails, target.emails)) kinds.push("email");
  if (shares(candidate.phones, target.phones)) kinds.push("phone");
  if (shares(candidate.names, target.names)) kinds.push("name");
  if (!kinds.length) return null;

  const matches = kinds
    .map((kind) => ({ kind, confidence: DUPLICATE_CONFIDENCE[kind] }))
    .sort((a, b) => b.confidence - a.confidence);
  const unlikely = matches.reduce((p, m) => p * (1 - m.confidence), 1);
  // Rounded so equal evidence compares equal despite floating-point noise.
  return { confidence: Math.round((1 - unlikely) * 10_000) / 10_000, matches };
}

/** The prefixes of stored match keys, one per kind. */
const KEY_PREFIX = { emails: "e:", phones: "p:", names: "n:" } as const;

/** The keys as one list, each prefixed by its kind (as stored and indexed). */
export function matchKeyList(keys: DuplicateKeys): string[] {
  return (Object.keys(KEY_PREFIX) as (keyof DuplicateKeys)[]).flatMap((kind) =>
    keys[kind].map((k) => KEY_PREFIX[kind] + k),
  );
}
