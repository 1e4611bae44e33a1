import { ContactsError, ErrorReason } from "@contacts/domain/errors";

/**
 * Opaque list cursors: the position after the last item returned, as base64url JSON. Callers treat
 * them as opaque; a cursor that does not decode is a 400 on `cursor`.
 */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

export function decodeCursor<T extends Record<string, string | number>>(
  cursor: string,
  isValid: (value: Record<string, unknown>) => value is T,
): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && isValid(value as Record<string, unknown>))
      return value as T;
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
