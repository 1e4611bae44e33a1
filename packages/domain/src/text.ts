import { ErrorReason, issuePath } from "./errors.js";
import type { FieldError } from "./errors.js";

/**
 * Text PostgreSQL cannot store or that is not text at all: U+0000 (refused in `text` and `jsonb`)
 * and a lone UTF-16 surrogate (no UTF-8 encoding exists for it). One rule for every way in: the API
 * checks each call's input with {@link unsafeTextError} before it is parsed, the CSV importer each
 * record's cells, and the HTTP routes their query options.
 */
export function isUnsafeText(value: string): boolean {
  return value.includes("\u0000") || !value.isWellFormed();
}

/** Why {@link isUnsafeText} refused a value, for the error's message. */
export function unsafeTextReason(value: string): string {
  return value.includes("\u0000")
    ? "holds U+0000 (NUL), which cannot be stored"
    : "holds a lone UTF-16 surrogate (not valid Unicode)";
}

/**
 * The path of the first string (or object key) in a JSON-like value that {@link isUnsafeText}
 * refuses, or null when every string is storable.
 */
export function unsafeTextPath(
  value: unknown,
  path: readonly PropertyKey[] = [],
): { path: PropertyKey[]; text: string } | null {
  if (typeof value === "string") return isUnsafeText(value) ? { path: [...path], text: value } : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unsafeTextPath(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (isUnsafeText(key)) return { path: [...path, key], text: key };
      const found = unsafeTextPath(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** The `invalid` field error for the first unstorable string in `value`, or null. */
export function unsafeTextError(value: unknown, prefix?: string): FieldError | null {
  const found = unsafeTextPath(value);
  if (!found) return null;
  return {
    reason: ErrorReason.invalid,
    field: issuePath(found.path, prefix) ?? prefix ?? null,
    message: unsafeTextReason(found.text),
  };
}
