import { domainToASCII } from "node:url";

import { describe, expect, it } from "vitest";

import { isValidEmail, normalizeEmail } from "./email.js";
import { readPeerSuite } from "./testing/peer-suites.js";

/** hapijs/isemail `test/tests.json`: `[address, diagnosis]`. */
const records = (readPeerSuite("isemail/tests.json") as [address: string, diagnosis: string][]).map(
  ([address, diagnosis], index) => ({ record: index + 1, address, diagnosis }),
);
type IsEmailRecord = (typeof records)[number];

/**
 * `valid` addresses we reject on purpose. The domain starts with U+103FF, an unassigned code point:
 * IDNA2008 / UTS #46 forbid it in domain names, so the domain has no A-label form (node's
 * `url.domainToASCII` returns '') and no DNS lookup, hence no delivery, is possible.
 */
function isDeliberatelyRejectedValid(record: IsEmailRecord): boolean {
  return record.diagnosis === "valid" && record.address.startsWith("test@\u{103FF}");
}

const valid = records.filter((r) => r.diagnosis === "valid" && !isDeliberatelyRejectedValid(r));
const rejectedValid = records.filter(isDeliberatelyRejectedValid);
const errors = records.filter((r) => r.diagnosis.startsWith("err"));
const nonDeliverable = records.filter((r) => r.diagnosis !== "valid" && !r.diagnosis.startsWith("err"));

describe("isemail peer suite", () => {
  it("holds every record in one of the categories below", () => {
    expect(records).toHaveLength(210);
    expect(valid.length + rejectedValid.length + errors.length + nonDeliverable.length).toBe(records.length);
    expect(
      new Set(nonDeliverable.map((r) => r.diagnosis.replace(/^(rfc5321|rfc5322|cfws|deprecated).*/, "$1"))),
    ).toEqual(new Set(["rfc5321", "rfc5322", "cfws", "deprecated"]));
  });

  describe("valid: accepted", () => {
    it.each(valid)("record $record: $address", ({ address }) => {
      expect(isValidEmail(address)).toBe(true);
    });
  });

  describe("valid, deliberately rejected: the domain begins with the unassigned code point U+103FF", () => {
    it("is exactly one record", () => {
      expect(rejectedValid).toHaveLength(1);
    });

    it.each(rejectedValid)("record $record: $address is rejected", ({ address }) => {
      const domain = address.slice(address.lastIndexOf("@") + 1);
      expect(domainToASCII(domain)).toBe("");
      expect(isValidEmail(address)).toBe(false);
    });
  });

  describe("err*: rejected", () => {
    it.each(errors)("record $record: $address ($diagnosis)", ({ address }) => {
      expect(isValidEmail(address)).toBe(false);
    });
  });

  /*
   * Policy: addresses RFC 5321/5322 tolerate but mail systems refuse or mangle are rejected as not
   * deliverable: quoted local parts, comments and folding white space (cfws*), obsolete syntax
   * (deprecated*), address and domain literals, numeric TLDs, and anything over the length limits
   * measured as it travels (local part in UTF-8 octets, domain as A-labels, 254 octets in all).
   * There is no exception: every record of these categories is rejected. (@hapi/address alone let
   * three over-long internationalised addresses through; isValidEmail measures them itself.)
   */
  describe("rfc5321* / rfc5322* / cfws* / deprecated*: rejected as not deliverable", () => {
    it.each(nonDeliverable)("record $record: $address ($diagnosis)", ({ address }) => {
      expect(isValidEmail(address)).toBe(false);
    });
  });
});

describe("isValidEmail", () => {
  it.each([
    "ada@example.com",
    "ada.lovelace+crm@mail.example.co.uk",
    "ada@localhost",
    "用户@例子.广告",
    "ñoño@example.com",
  ])("accepts %j", (address) => {
    expect(isValidEmail(address)).toBe(true);
  });

  it.each([
    "",
    "ada",
    "ada@",
    "@example.com",
    "ada@@example.com",
    "ada lovelace@example.com",
    '"ada"@example.com',
    "ada@[127.0.0.1]",
    "ada(comment)@example.com",
    "ada@example..com",
    "ada@-example.com",
    "\ud800@example.com",
  ])("rejects %j", (address) => {
    expect(isValidEmail(address)).toBe(false);
  });

  it("accepts a 64-octet local part and rejects a 65-octet one, counting UTF-8 octets", () => {
    expect(isValidEmail(`${"a".repeat(64)}@example.com`)).toBe(true);
    expect(isValidEmail(`${"a".repeat(65)}@example.com`)).toBe(false);
    // 32 "é" are 32 UTF-16 units but 64 octets; 33 are 66 octets.
    expect(isValidEmail(`${"é".repeat(32)}@example.com`)).toBe(true);
    expect(isValidEmail(`${"é".repeat(33)}@example.com`)).toBe(false);
  });

  it("accepts an ASCII address of exactly 254 octets and rejects 255", () => {
    const address = (lastLabel: number) =>
      `${"l".repeat(64)}@${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(lastLabel)}.io`;
    expect(address(58)).toHaveLength(254);
    expect(isValidEmail(address(58))).toBe(true);
    expect(isValidEmail(address(59))).toBe(false);
  });

  it("measures an internationalised domain in its A-label form", () => {
    // Nine labels of 20 "é": 192 characters as typed, 246 as A-labels (xn--…).
    const domain = `${Array.from({ length: 9 }, () => "é".repeat(20)).join(".")}.com`;
    expect(domainToASCII(domain)).toHaveLength(246);
    expect(isValidEmail(`a@${domain}`)).toBe(true); // 1 + 1 + 246 = 248 octets
    const long = `${"a".repeat(10)}@${domain}`; // 10 + 1 + 246 = 257 octets, only 203 characters
    expect(long.length).toBeLessThanOrEqual(254);
    expect(isValidEmail(long)).toBe(false);
  });
});

describe("normalizeEmail", () => {
  it("trims and lower-cases, so differently typed copies compare equal", () => {
    expect(normalizeEmail("  Ada.Lovelace@Example.COM ")).toBe("ada.lovelace@example.com");
    expect(normalizeEmail("ADA@EXAMPLE.COM")).toBe(normalizeEmail("ada@example.com"));
  });
});
