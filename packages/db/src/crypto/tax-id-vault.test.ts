import { randomBytes } from "node:crypto";

import { describe, expect, it } from "vitest";

import { TaxIdKeyring, generateKeyringForTests } from "./keyring.js";
import { TaxIdDecryptError, TaxIdVault, normalizeTaxIdForIndex } from "./tax-id-vault.js";

const AUTH_FAILED = "tax ID ciphertext failed authentication";
const context = { tenantId: "acme", contactId: "0b6f4a52-4f0e-4a5e-9a57-3c1d2b9e8f10" };

/** Flips one bit of the decoded `index`-th dot-separated field, keeping the encoding canonical. */
function tamper(ciphertext: string, index: number): string {
  const fields = ciphertext.split(".");
  const bytes = Buffer.from(fields[index] ?? "", "base64url");
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  fields[index] = bytes.toString("base64url");
  return fields.join(".");
}

/** Runs `action` and checks it throws a TaxIdDecryptError with exactly this message. */
function expectDecryptError(action: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TaxIdDecryptError);
  expect((thrown as Error).message).toBe(message);
}

describe("TaxIdVault encryption", () => {
  const vault = new TaxIdVault(generateKeyringForTests());

  it("round-trips a tax ID", () => {
    const { ciphertext, keyId } = vault.encrypt("123-45-6789", context);
    expect(keyId).toBe("test-1");
    expect(ciphertext).toMatch(/^v1\.test-1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(ciphertext).not.toContain("6789");
    expect(vault.decrypt(ciphertext, context)).toBe("123-45-6789");
  });

  it("round-trips non-ASCII text and the empty string", () => {
    for (const value of ["DE 123 456 789 ü", ""]) {
      expect(vault.decrypt(vault.encrypt(value, context).ciphertext, context)).toBe(value);
    }
  });

  it("encrypts the same value differently twice", () => {
    const first = vault.encrypt("123-45-6789", context).ciphertext;
    const second = vault.encrypt("123-45-6789", context).ciphertext;
    expect(first).not.toBe(second);
  });

  it("refuses a tampered ciphertext byte", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    expectDecryptError(() => vault.decrypt(tamper(ciphertext, 3), context), AUTH_FAILED);
  });

  it("refuses a tampered tag", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    expectDecryptError(() => vault.decrypt(tamper(ciphertext, 4), context), AUTH_FAILED);
  });

  it("refuses a tampered iv", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    expectDecryptError(() => vault.decrypt(tamper(ciphertext, 2), context), AUTH_FAILED);
  });

  it("refuses a value decrypted in another tenant's context", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    expectDecryptError(() => vault.decrypt(ciphertext, { ...context, tenantId: "globex" }), AUTH_FAILED);
  });

  it("refuses a value decrypted in another contact's context", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    expectDecryptError(
      () => vault.decrypt(ciphertext, { ...context, contactId: "5d1c7c1e-4d57-4f7b-8a0e-0f4b1a7c9d22" }),
      AUTH_FAILED,
    );
  });

  it("refuses a value under an unknown key id", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    const foreign = ciphertext.replace("v1.test-1.", "v1.other-7.");
    expectDecryptError(() => vault.decrypt(foreign, context), "unknown tax ID key other-7");
  });

  it("refuses malformed values without echoing them", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    const malformed = [
      "",
      "123-45-6789",
      ciphertext.replace(/^v1/, "v2"),
      `${ciphertext}.extra`,
      ciphertext.replace(/\.[\w-]+$/, ".AAAA"),
      ciphertext.replace(/\.([\w-]+)$/, ".$1A"),
      ciphertext.replace(/\.([\w-]+)$/, ".$1="),
    ];
    for (const value of malformed) {
      expectDecryptError(() => vault.decrypt(value, context), "malformed tax ID ciphertext");
      expect(vault.keyIdOf(value)).toBeNull();
    }
  });

  it("does not decrypt with another keyring's key of the same id", () => {
    const { ciphertext } = vault.encrypt("123-45-6789", context);
    const other = new TaxIdVault(generateKeyringForTests());
    expectDecryptError(() => other.decrypt(ciphertext, context), AUTH_FAILED);
  });

  it("refuses context ids that would make the authenticated data ambiguous", () => {
    expect(() => vault.encrypt("1", { tenantId: "a/b", contactId: "c" })).toThrow("contain no '/'");
    expect(() => vault.encrypt("1", { tenantId: "acme", contactId: "" })).toThrow("non-empty");
  });
});

describe("TaxIdVault key rotation", () => {
  it("still decrypts values encrypted under an old key after a new current key is added", () => {
    const oldKey = randomBytes(32);
    const indexKey = randomBytes(32);
    const before = new TaxIdVault(
      TaxIdKeyring.fromParts({ currentKeyId: "k1", keys: { k1: oldKey }, indexKey }),
    );
    const { ciphertext } = before.encrypt("123-45-6789", context);

    const after = new TaxIdVault(
      TaxIdKeyring.fromParts({ currentKeyId: "k2", keys: { k1: oldKey, k2: randomBytes(32) }, indexKey }),
    );
    expect(after.currentKeyId).toBe("k2");
    expect(after.keyIdOf(ciphertext)).toBe("k1");
    expect(after.decrypt(ciphertext, context)).toBe("123-45-6789");
    const reencrypted = after.encrypt(after.decrypt(ciphertext, context), context);
    expect(reencrypted.keyId).toBe("k2");
    expect(after.keyIdOf(reencrypted.ciphertext)).toBe("k2");
    expect(after.blindIndex("123-45-6789", "acme")).toBe(before.blindIndex("123-45-6789", "acme"));
  });
});

describe("TaxIdVault blind index", () => {
  const vault = new TaxIdVault(generateKeyringForTests());

  it("is equal across separator variants within a tenant", () => {
    const expected = vault.blindIndex("123456789", "acme");
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(vault.blindIndex("123-45-6789", "acme")).toBe(expected);
    expect(vault.blindIndex("123 45 6789", "acme")).toBe(expected);
    expect(vault.blindIndex(" 123.45/6789 ", "acme")).toBe(expected);
    expect(vault.blindIndex("de-123", "acme")).toBe(vault.blindIndex("DE123", "acme"));
  });

  it("differs between tenants", () => {
    expect(vault.blindIndex("123-45-6789", "acme")).not.toBe(vault.blindIndex("123-45-6789", "globex"));
  });

  it("differs between keyrings", () => {
    const other = new TaxIdVault(generateKeyringForTests());
    expect(vault.blindIndex("123-45-6789", "acme")).not.toBe(other.blindIndex("123-45-6789", "acme"));
  });

  it("differs between different tax IDs", () => {
    expect(vault.blindIndex("123-45-6789", "acme")).not.toBe(vault.blindIndex("123-45-6788", "acme"));
  });

  it("refuses a value with no letters or digits", () => {
    expect(() => vault.blindIndex(" - ", "acme")).toThrow("cannot be indexed");
  });
});

describe("normalizeTaxIdForIndex", () => {
  it("keeps letters and digits only, upper-cased, after NFKC", () => {
    expect(normalizeTaxIdForIndex("123-45-6789")).toBe("123456789");
    expect(normalizeTaxIdForIndex("de 123.456/789")).toBe("DE123456789");
    // Full-width digits and letters fold to ASCII under NFKC.
    expect(normalizeTaxIdForIndex("１２３ａｂ")).toBe("123AB");
    expect(normalizeTaxIdForIndex("çé-1")).toBe("ÇÉ1");
  });
});
