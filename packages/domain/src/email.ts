import { isEmailValid } from "@hapi/address";

/**
 * True for an address a mail system would deliver to: RFC 5321 syntax, internationalised local parts
 * and domains allowed, no comments, quoted strings, address literals or obsolete forms (valid in
 * RFC 5322 but refused by real mail systems and a common source of spoofing).
 */
// Any top-level domain is accepted: new TLDs appear faster than a bundled list is updated.
const ANY_TLD = { deny: new Set<string>() };

export function isValidEmail(address: string): boolean {
  if (!address.isWellFormed()) return false;
  return isEmailValid(address, { tlds: ANY_TLD, minDomainSegments: 1 });
}

/** The form emails are compared in: trimmed and lower-cased. */
export function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}
