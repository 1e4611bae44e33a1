import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";

import { ContactsError, ErrorReason } from "@contacts/domain/errors";

/**
 * Opaque list cursors: the position after the last item returned, sealed with AES-256-GCM. The
 * position (a sort key may be a last name) is not readable by whoever holds the cursor, and the
 * cursor opens only in the list it came from: the scope (`list:tenant[:sort]`) is the cipher's
 * additional data, so another tenant's cursor, another list's or another sort's is refused, and so
 * is any edited one. A cursor that does not open is a 400 on `cursor`.
 *
 * The nonce is derived from the scope and the position (a synthetic IV, as in SIV modes): one
 * position gives one cursor (a caught-up feed hands back the cursor it was given), and a nonce is
 * never reused for another plaintext.
 */
let cursorKey: Buffer = randomBytes(32);
let nonceKey: Buffer = randomBytes(32);

/** The key cursors are sealed with: derived from a configured secret, so every instance opens every cursor. */
export function useCursorSecret(secret: Buffer): void {
  cursorKey = Buffer.from(hkdfSync("sha256", secret, "contacts-list-cursor", "v1 seal", 32));
  nonceKey = Buffer.from(hkdfSync("sha256", secret, "contacts-list-cursor", "v1 nonce", 32));
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function encodeCursor(position: Record<string, string | number>, scope: string): string {
  const plaintext = JSON.stringify(position);
  const iv = createHmac("sha256", nonceKey)
    .update(scope)
    .update("\0")
    .update(plaintext)
    .digest()
    .subarray(0, IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", cursorKey, iv);
  cipher.setAAD(Buffer.from(scope, "utf8"));
  const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
}

export function decodeCursor<T extends Record<string, string | number>>(
  cursor: string,
  scope: string,
  isValid: (value: Record<string, unknown>) => value is T,
): T {
  try {
    const bytes = Buffer.from(cursor, "base64url");
    if (bytes.length > IV_BYTES + TAG_BYTES) {
      const decipher = createDecipheriv("aes-256-gcm", cursorKey, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(scope, "utf8"));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const json = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      const value: unknown = JSON.parse(json.toString("utf8"));
      if (typeof value === "object" && value !== null && isValid(value as Record<string, unknown>))
        return value as T;
    }
  } catch {
    // reported below
  }
  throw invalidCursor();
}

/** The 400 for a cursor that does not belong to this list (or this sort). */
export function invalidCursor(): ContactsError {
  return ContactsError.invalid([
    { reason: ErrorReason.invalid, field: "cursor", message: "not a cursor of this list" },
  ]);
}
