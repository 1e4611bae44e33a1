import { isEmailValid } from "@hapi/address";

// Any top-level domain is accepted: new TLDs appear faster than a bundled list is updated.
const ANY_TLD = { deny: new Set<string>() };

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets, so a mailbox 254. */
const MAX_ADDRESS_OCTETS = 254;

const utf8 = new TextEncoder();

/**
 * The domain as DNS and SMTP see it (IDNA A-labels, `xn--…`), or null when it has no such form
 * (e.g. an unassigned code point, which IDNA2008 / UTS #46 forbid).
 */
function asciiDomain(domain: string): string | null {
  try {
    return new URL(`http://${domain}`).hostname || null;
  } catch {
    return null;
  }
}

/**
 * True for an address a mail system would deliver to: RFC 5321 syntax, internationalised local parts
 * and domains allowed, no comments, quoted strings, address literals or obsolete forms (valid in
 * RFC 5322 but refused by real mail systems and a common source of spoofing).
 */
export function isValidEmail(address: string): boolean {
  if (!address.isWellFormed()) return false;
  if (!isEmailValid(address, { tlds: ANY_TLD, minDomainSegments: 1 })) return false;
  // @hapi/address counts the length in UTF-16 code units and never measures the A-label domain, so
  // addresses too long to travel (local part in UTF-8 octets + "@" + A-label domain) get through it.
  const nfc = address.normalize("NFC");
  const at = nfc.lastIndexOf("@");
  const domain = asciiDomain(nfc.slice(at + 1));
  if (domain === null) return false;
  return utf8.encode(nfc.slice(0, at)).length + 1 + domain.length <= MAX_ADDRESS_OCTETS;
}

/** The form emails are compared in: trimmed and lower-cased. */
export function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}
