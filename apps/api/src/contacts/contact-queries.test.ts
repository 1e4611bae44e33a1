import { randomUUID } from "node:crypto";

import { describe, expect, it } from "vitest";
import type { ContactSearchInput } from "@contacts/domain/search";

import { collectRareMatches, POSTING_WALK_MAX_WORDS, postingWalkWords } from "./contact-queries.js";

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

  it("with free text, collects a place or role under 10 % (the alternative walks the postings)", () => {
    expect(collectRareMatches({ ...million, frequency: 0.09 }, { limit: 50, q: "smith" })).toBe(true);
    expect(collectRareMatches({ ...million, frequency: 0.11 }, { limit: 50, q: "smith" })).toBe(false);
  });

  it("walks when nothing is known about the value", () => {
    expect(collectRareMatches(undefined, { limit: 50 })).toBe(false);
    expect(collectRareMatches({ contacts: 10, frequency: null }, { limit: 50 })).toBe(false);
  });
});

describe("postingWalkWords", () => {
  const base = { limit: 50, q: "smith" };

  it("walks the postings for one term alone in last-name order, either way", () => {
    expect(postingWalkWords(base, [["smith", "smithe"]])).toEqual(["smith", "smithe"]);
    const desc: ContactSearchInput = {
      ...base,
      sort: { field: "lastName", direction: "desc" },
      cursor: "x",
      fields: ["id"],
    };
    expect(postingWalkWords(desc, [["smith"]])).toEqual(["smith"]);
  });

  it("walks with place and role filters, checked on the last-name index", () => {
    const filters = {
      city: "Paris",
      state: "IDF",
      country: "FR",
      role: "BILLING",
    };
    expect(postingWalkWords({ ...base, ...filters }, [["smith"]])).toEqual(["smith"]);
  });

  it("does not for several terms, another sort, another filter, no word or too many words", () => {
    expect(postingWalkWords(base, [["ada"], ["smith"]])).toBeNull();
    expect(
      postingWalkWords({ ...base, sort: { field: "firstName", direction: "asc" } }, [["smith"]]),
    ).toBeNull();
    expect(postingWalkWords({ ...base, accountIds: [randomUUID()] }, [["smith"]])).toBeNull();
    expect(postingWalkWords({ ...base, firstName: "ada" }, [["smith"]])).toBeNull();
    expect(postingWalkWords({ ...base, status: ["active"] }, [["smith"]])).toBeNull();
    expect(postingWalkWords(base, [[]])).toBeNull();
    expect(postingWalkWords({ limit: 50 }, null)).toBeNull();
    const many = Array.from({ length: POSTING_WALK_MAX_WORDS + 1 }, (_, i) => `w${String(i)}`);
    expect(postingWalkWords(base, [many])).toBeNull();
    expect(postingWalkWords(base, [many.slice(1)])).toHaveLength(POSTING_WALK_MAX_WORDS);
  });
});
