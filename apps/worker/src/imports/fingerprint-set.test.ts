import { describe, expect, it } from "vitest";

import { FingerprintSet } from "./fingerprint-set.js";

describe("FingerprintSet", () => {
  it("tells a key seen before from a new one, across growth", () => {
    const seen = new FingerprintSet();
    for (let i = 0; i < 50_000; i++) expect(seen.add(`ext-${String(i)}`)).toBe(false);
    expect(seen.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) expect(seen.add(`ext-${String(i)}`)).toBe(true);
    expect(seen.add("ext-50000")).toBe(false);
    expect(seen.add("")).toBe(false);
    expect(seen.add("")).toBe(true);
    expect(seen.size).toBe(50_002);
  });

  it("is case- and byte-exact (normalizing is the caller's job)", () => {
    const seen = new FingerprintSet();
    expect(seen.add("A-1")).toBe(false);
    expect(seen.add("a-1")).toBe(false);
    expect(seen.add("A-1 ")).toBe(false);
    expect(seen.add("A-1")).toBe(true);
  });
});
