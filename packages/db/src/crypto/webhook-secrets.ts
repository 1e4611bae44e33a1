import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

import type { TaxIdKeyring } from "./keyring.js";

const CIPHER = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = "w1";
/** Keys for webhook secrets are derived from the keyring's data keys, never used as they are. */
const KEY_INFO = "contacts/webhook-secret/v1";
/** Standard Webhooks: a secret is `whsec_` and base64 of 24 to 64 random bytes. */
const SECRET_BYTES = 32;

/** The endpoint a secret belongs to; bound into the ciphertext so it cannot be moved to another. */
export interface WebhookSecretContext {
  tenantId: string;
  endpointId: string;
}

/** A new signing secret in the Standard Webhooks format (`whsec_<base64 of 32 random bytes>`). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(SECRET_BYTES).toString("base64")}`;
}

/**
 * Encrypts webhook signing secrets at rest (AES-256-GCM, `w1.<keyId>.<iv>.<ciphertext>.<tag>`,
 * base64url) under a key derived from the tax-ID keyring's key of that id, so the deployment has
 * one keyring to keep and rotate. The API encrypts at create; the worker decrypts to sign.
 */
export class WebhookSecretBox {
  readonly #keyring: TaxIdKeyring;

  constructor(keyring: TaxIdKeyring) {
    this.#keyring = keyring;
  }

  encrypt(secret: string, context: WebhookSecretContext): string {
    const keyId = this.#keyring.currentKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.#key(keyId), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(context));
    const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return [FORMAT_VERSION, keyId, iv, body, cipher.getAuthTag()]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  /** The secret in clear; throws (without data in the message) when tampered or the key is unknown. */
  decrypt(ciphertext: string, context: WebhookSecretContext): string {
    const [version, keyId, iv, body, tag, ...rest] = ciphertext.split(".");
    if (version !== FORMAT_VERSION || !keyId || !iv || body === undefined || !tag || rest.length)
      throw new Error("malformed webhook secret ciphertext");
    const decipher = createDecipheriv(CIPHER, this.#key(keyId), Buffer.from(iv, "base64url"), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(context));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new Error("webhook secret ciphertext failed authentication");
    }
  }

  #key(keyId: string): Buffer {
    const key = this.#keyring.key(keyId);
    if (!key) throw new Error(`unknown key ${keyId} for a webhook secret`);
    return Buffer.from(hkdfSync("sha256", key, KEY_INFO, keyId, 32));
  }
}

function aad(context: WebhookSecretContext): Buffer {
  return Buffer.from(JSON.stringify([context.tenantId, context.endpointId]), "utf8");
}
