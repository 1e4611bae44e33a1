import { describe, expect, it } from "vitest";

import { collectRareMatches } from "./contact-queries.js";

describe("collectRareMatches", () => {
  const million = { contacts: 1_000_000 };

  it("collects a value rarer than sqrt(page / contacts), walking rows (any sort but last name)", () => {
    const sort = { field: "createdAt", direction: "asc" } as const;
    // sqrt(51 / 1,000,000) = 0.71 %
    expect(collectRareMatches({ ...million, frequency: 0.006 }, { limit: 50, sort })).toBe(true);
    expect(collectRareMatches({ ...million, frequency: 0.008 }, { limit: 50, sort })).toBe(false);
  });

  it("walks more readily in last-name order, whose index carries the filter columns", () => {
    // sqrt(51 / 1,000,000 / 8) = 0.25 %
    expect(collectRareMatches({ ...million, frequency: 0.002 }, { limit: 50 })).toBe(true);
    expect(collectRareMatches({ ...million, frequency: 0.003 }, { limit: 50 })).toBe(false);
    expect(collectRareMatches({ contacts: "1000000", frequency: "0.003" }, { limit: 50 })).toBe(false);
  });

  it("walks when nothing is known about the value", () => {
    expect(collectRareMatches(undefined, { limit: 50 })).toBe(false);
    expect(collectRareMatches({ contacts: 10, frequency: null }, { limit: 50 })).toBe(false);
  });
});
