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

/** Deeper than any input the API takes (a patch value inside a contact inside a call is under 10). */
export const MAX_INPUT_DEPTH = 64;

/**
 * The path of the first string (or object key) in a JSON-like value that {@link isUnsafeText}
 * refuses, or null when every string is storable. Walks without recursion, so a hostile nesting
 * cannot overflow the stack: a value nested deeper than {@link MAX_INPUT_DEPTH} is reported at the
 * path where it passes the limit (`tooDeep`).
 */
export function unsafeTextPath(
  value: unknown,
  path: readonly PropertyKey[] = [],
): { path: PropertyKey[]; text: string; tooDeep?: true } | null {
  const pending: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [...path] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, path: at } = next;
    if (typeof item === "string") {
      if (isUnsafeText(item)) return { path: at, text: item };
      continue;
    }
    if (item === null || typeof item !== "object") continue;
    if (at.length - path.length >= MAX_INPUT_DEPTH) return { path: at, text: "", tooDeep: true };
    const children: { value: unknown; path: PropertyKey[] }[] = [];
    if (Array.isArray(item)) {
      item.forEach((child, i) => children.push({ value: child, path: [...at, i] }));
    } else {
      for (const [key, child] of Object.entries(item as Record<string, unknown>)) {
        if (isUnsafeText(key)) return { path: [...at, key], text: key };
        children.push({ value: child, path: [...at, key] });
      }
    }
    // Last pushed is taken first: reversed, the first child is checked first.
    for (const child of children.reverse()) pending.push(child);
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
    message: found.tooDeep ? `is nested deeper than ${MAX_INPUT_DEPTH} levels` : unsafeTextReason(found.text),
  };
}
