import { describe, expect, it } from "vitest";

import { isUnsafeText, MAX_INPUT_DEPTH, unsafeTextError, unsafeTextPath } from "./text.js";

describe("text PostgreSQL cannot store", () => {
  it("is NUL or a lone surrogate, not other control characters, emoji or paired surrogates", () => {
    for (const bad of ["\u0000", "a\u0000b", "\uD800", "x\uDFFF", "\uDC00\uD800"])
      expect(isUnsafeText(bad)).toBe(true);
    for (const good of ["", "Ada", "\u0001\u001f", "😀", "\uD83D\uDE00", "Zoë 東京"])
      expect(isUnsafeText(good)).toBe(false);
  });

  it("is found at its path in nested input, object keys included", () => {
    expect(unsafeTextPath({ a: [{ b: "ok" }, { c: "x\u0000" }] })?.path).toEqual(["a", 1, "c"]);
    expect(unsafeTextPath({ custom: { "k\uD800": 1 } })?.path).toEqual(["custom", "k\uD800"]);
    expect(unsafeTextPath({ a: 1, b: null, c: [true, "fine"] })).toBeNull();
    expect(unsafeTextError({ contact: { notes: "\u0000" } })).toMatchObject({
      reason: "invalid",
      field: "contact.notes",
    });
    expect(unsafeTextError("\u0000", "search")).toMatchObject({ reason: "invalid", field: "search" });
  });

  it("reports the first unstorable string in document order", () => {
    expect(unsafeTextPath({ a: ["ok", "\u0000"], b: "\u0000" })?.path).toEqual(["a", 1]);
  });

  it("refuses input nested past the limit without overflowing the stack, at the path it passes it", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const error = unsafeTextError({ patch: [{ value: deep }] });
    expect(error).toMatchObject({ reason: "invalid" });
    expect(error?.field?.split(".")).toHaveLength(MAX_INPUT_DEPTH);
    expect(error?.message).toContain(`deeper than ${MAX_INPUT_DEPTH}`);

    let allowed: unknown = "leaf";
    for (let i = 0; i < MAX_INPUT_DEPTH - 1; i++) allowed = { x: allowed };
    expect(unsafeTextError(allowed)).toBeNull();
  });
});
