import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";

import { TAX_ID_KEY_ID_PATTERN } from "./keyring.js";
import type { TaxIdKeyring } from "./keyring.js";

const FORMAT_VERSION = "v1";
const CIPHER = "aes-256-gcm";
/** The GCM nonce size; random nonces are safe for far more values than a contact table holds. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Unpadded base64url, as Buffer writes it. */
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]*$/;
const INDEX_SALT = "contacts/tax-id-index/v1";
/** Bounds the per-tenant key cache; it is simply emptied when full. */
const MAX_CACHED_TENANT_KEYS = 10_000;

/** The row a tax ID belongs to; bound into the ciphertext so it cannot be moved to another row. */
export interface TaxIdContext {
  tenantId: string;
  contactId: string;
}

/** A tax ID ciphertext could not be decrypted. The message never contains data. */
export class TaxIdDecryptError extends Error {
  override name = "TaxIdDecryptError";
}

interface CiphertextParts {
  keyId: string;
  iv: Buffer;
  body: Buffer;
  tag: Buffer;
}

/**
 * Encrypts tax IDs at rest (AES-256-GCM, `v1.<keyId>.<iv>.<ciphertext>.<tag>` in base64url) and
 * computes their blind index, an HMAC that lets a tenant look a tax ID up without decrypting.
 */
export class TaxIdVault {
  readonly #keyring: TaxIdKeyring;
  readonly #tenantIndexKeys = new Map<string, Buffer>();

  constructor(keyring: TaxIdKeyring) {
    this.#keyring = keyring;
  }

  /** The key new values are encrypted with. */
  get currentKeyId(): string {
    return this.#keyring.currentKeyId;
  }

  /** Encrypts under the current key with a fresh IV, so equal values encrypt differently. */
  encrypt(plaintext: string, context: TaxIdContext): { ciphertext: string; keyId: string } {
    const keyId = this.#keyring.currentKeyId;
    const key = this.#keyring.key(keyId);
    if (!key) throw new Error(`the current tax ID key ${keyId} is missing from the keyring`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(context));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    const ciphertext = [FORMAT_VERSION, keyId, base64url(iv), base64url(body), base64url(tag)].join(".");
    return { ciphertext, keyId };
  }

  /** Decrypts a value of this row; tampering, another row's value or an unknown key throw. */
  decrypt(ciphertext: string, context: TaxIdContext): string {
    const parts = parseCiphertext(ciphertext);
    if (!parts) throw new TaxIdDecryptError("malformed tax ID ciphertext");
    const key = this.#keyring.key(parts.keyId);
    if (!key) throw new TaxIdDecryptError(`unknown tax ID key ${parts.keyId}`);
    const decipher = createDecipheriv(CIPHER, key, parts.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(context));
    decipher.setAuthTag(parts.tag);
    try {
      return Buffer.concat([decipher.update(parts.body), decipher.final()]).toString("utf8");
    } catch {
      throw new TaxIdDecryptError("tax ID ciphertext failed authentication");
    }
  }

  /** The key a value was encrypted with (to find values still to re-encrypt), or null if malformed. */
  keyIdOf(ciphertext: string): string | null {
    return parseCiphertext(ciphertext)?.keyId ?? null;
  }

  /**
   * A deterministic, keyed hash of the normalized tax ID, for equality lookups. The key is derived
   * per tenant, so equal tax IDs in two tenants cannot be linked through the index.
   */
  blindIndex(taxId: string, tenantId: string): string {
    const normalized = normalizeTaxIdForIndex(taxId);
    // Every separator-only value would share one index entry.
    if (!normalized) throw new Error("a tax ID without letters or digits cannot be indexed");
    return createHmac("sha256", this.#tenantIndexKey(tenantId)).update(normalized, "utf8").digest("hex");
  }

  #tenantIndexKey(tenantId: string): Buffer {
    const cached = this.#tenantIndexKeys.get(tenantId);
    if (cached) return cached;
    const key = Buffer.from(hkdfSync("sha256", this.#keyring.indexKey, INDEX_SALT, tenantId, 32));
    if (this.#tenantIndexKeys.size >= MAX_CACHED_TENANT_KEYS) this.#tenantIndexKeys.clear();
    this.#tenantIndexKeys.set(tenantId, key);
    return key;
  }
}

/** The form a tax ID is indexed in: NFKC, letters and digits only, upper case. */
export function normalizeTaxIdForIndex(taxId: string): string {
  return taxId
    .normalize("NFKC")
    .replace(/[^\p{L}\p{N}]/gu, "")
    .toUpperCase();
}

/**
 * The authenticated data binding a ciphertext to its row. Ids must not contain `/`, or two
 * different rows could share one (tenant `a/b` + contact `c` against tenant `a` + contact `b/c`).
 */
function additionalData(context: TaxIdContext): Buffer {
  for (const id of [context.tenantId, context.contactId]) {
    if (!id || id.includes("/")) throw new Error("tax ID context ids must be non-empty and contain no '/'");
  }
  return Buffer.from(`contacts/tax-id/v1/${context.tenantId}/${context.contactId}`, "utf8");
}

/** Splits and decodes a ciphertext; null unless it is exactly in the v1 format. */
function parseCiphertext(ciphertext: string): CiphertextParts | null {
  const fields = ciphertext.split(".");
  if (fields.length !== 5) return null;
  const [version, keyId, iv, body, tag] = fields;
  if (version !== FORMAT_VERSION || keyId === undefined || !TAX_ID_KEY_ID_PATTERN.test(keyId)) return null;
  const ivBytes = decodeBase64url(iv);
  const bodyBytes = decodeBase64url(body);
  const tagBytes = decodeBase64url(tag);
  if (ivBytes?.length !== IV_BYTES || !bodyBytes || tagBytes?.length !== TAG_BYTES) return null;
  return { keyId, iv: ivBytes, body: bodyBytes, tag: tagBytes };
}

/** Strict base64url: only the canonical encoding is accepted, so no two strings decode alike. */
function decodeBase64url(text: string | undefined): Buffer | null {
  if (text === undefined || !BASE64URL_PATTERN.test(text)) return null;
  const bytes = Buffer.from(text, "base64url");
  return base64url(bytes) === text ? bytes : null;
}

function base64url(bytes: Buffer): string {
  return bytes.toString("base64url");
}
