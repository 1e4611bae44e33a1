import { randomUUID } from "node:crypto";

import { describe, expect, it } from "vitest";
import type { ContactSearchInput } from "@contacts/domain/search";

import {
  collectRareMatches,
  filterFrequencyQuery,
  PLACE_MERGE_MIN_HOLDERS,
  POSTING_MERGE_MAX_WORDS,
  POSTING_WALK_MAX_WORDS,
  postingWalkCheaper,
  lonePlaceKey,
  postingWalkWords,
} from "./contact-queries.js";

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

  it("with free text, walks the postings when that checks less than intersecting the GIN indexes", () => {
    const q = { limit: 50, q: "smith" };
    // One word, 5 % of a million: walk ~1,020 entries (6 ms) against the 50,000-entry bitmap (15.5 ms).
    expect(collectRareMatches({ ...million, frequency: 0.05 }, q, [["smith"]])).toBe(false);
    // Eight words, 2.5 %: walk ~16,300 entries (98 ms) against 9 ms.
    const eight = [["mart", "marta", "martha", "martin", "martina", "martinez", "marty", "marte"]];
    expect(collectRareMatches({ ...million, frequency: 0.025 }, q, eight)).toBe(true);
    // One word, 2 %: walk ~2,550 entries (15 ms) against 8 ms.
    expect(collectRareMatches({ ...million, frequency: 0.02 }, q, [["smith"]])).toBe(true);
    // A common value walks even with many words: its bitmap alone is most of the tenant.
    expect(
      collectRareMatches({ ...million, frequency: 0.67 }, q, [
        Array.from({ length: 200 }, (_, i) => `w${String(i)}`),
      ]),
    ).toBe(false);
    // No walk possible (two terms, another sort, another filter): the GIN indexes either way.
    expect(
      collectRareMatches({ ...million, frequency: 0.67 }, { ...q, q: "john smith" }, [["john"], ["smith"]]),
    ).toBe(true);
    expect(
      collectRareMatches(
        { ...million, frequency: 0.05 },
        { ...q, sort: { field: "firstName", direction: "asc" } },
        [["smith"]],
      ),
    ).toBe(true);
    expect(
      collectRareMatches({ ...million, frequency: 0.05 }, { ...q, status: ["active"] }, [["smith"]]),
    ).toBe(true);
  });

  it("postingWalkCheaper weighs the walk's entries against the filter's bitmap", () => {
    expect(postingWalkCheaper(1, 0.05, 1_000_000, 50)).toBe(true);
    expect(postingWalkCheaper(3, 0.038, 1_000_000, 50)).toBe(false);
    // A small tenant: the bitmap is tiny, the walk still ~page / frequency.
    expect(postingWalkCheaper(1, 0.05, 1_000, 50)).toBe(false);
    expect(postingWalkCheaper(1, 0, 1_000_000, 50)).toBe(false);
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

describe("lonePlaceKey", () => {
  it("keys a lone city, state or country in last-name order, either way, with or without free text", () => {
    expect(lonePlaceKey({ limit: 50, city: "Paris" })).toEqual({
      sql: "array[? || lower(?::text)]",
      params: ["city:", "Paris"],
    });
    expect(lonePlaceKey({ limit: 50, state: "IDF", fields: ["id"], cursor: "x" })?.params).toEqual([
      "state:",
      "IDF",
    ]);
    const desc: ContactSearchInput = {
      limit: 5,
      country: "FR",
      sort: { field: "lastName", direction: "desc" },
    };
    expect(lonePlaceKey(desc)?.params).toEqual(["country:", "FR"]);
    expect(lonePlaceKey({ limit: 50, city: "Paris", q: "ada" })?.params).toEqual(["city:", "Paris"]);
  });

  it("does not with two filters, a non-place filter or another sort", () => {
    expect(lonePlaceKey({ limit: 50, city: "Paris", country: "FR" })).toBeNull();
    expect(lonePlaceKey({ limit: 50, city: "Paris", role: "BILLING" })).toBeNull();
    expect(lonePlaceKey({ limit: 50, role: "BILLING" })).toBeNull();
    expect(
      lonePlaceKey({ limit: 50, city: "Paris", sort: { field: "createdAt", direction: "asc" } }),
    ).toBeNull();
    expect(lonePlaceKey({ limit: 50 })).toBeNull();
  });

  it("skips the frequency lookup of a lone place, which walks whatever its frequency", () => {
    expect(filterFrequencyQuery("t", { limit: 50, city: "Paris" })).toBeNull();
    // With free text the frequency decides between merging and intersecting (`collectRareMatches`).
    expect(filterFrequencyQuery("t", { limit: 50, city: "Paris", q: "ada" })).not.toBeNull();
    expect(filterFrequencyQuery("t", { limit: 50, city: "Paris", role: "BILLING" })?.params).toEqual([
      "city",
      "paris",
      "role",
      "BILLING",
      "t",
    ]);
  });
});

describe("collectRareMatches with free text and a lone place", () => {
  const input: ContactSearchInput = { limit: 50, q: "smit", city: "Paris" };
  const row = (holders: number) => ({ frequency: holders / 1_000_000, contacts: 1_000_000 });

  it("merges with the place's postings unless few contacts hold it", () => {
    expect(collectRareMatches(row(PLACE_MERGE_MIN_HOLDERS), input, [["smith", "smithe"]])).toBe(false);
    expect(collectRareMatches(row(PLACE_MERGE_MIN_HOLDERS - 1), input, [["smith"]])).toBe(true);
    expect(collectRareMatches(row(670_000), input, [["smith"]])).toBe(false);
  });

  it("weighs walking against intersecting past the words a merge takes", () => {
    const many = Array.from({ length: POSTING_MERGE_MAX_WORDS + 1 }, (_, i) => `w${String(i)}`);
    expect(collectRareMatches(row(670_000), input, [many])).toBe(false); // walks: common place
    expect(collectRareMatches(row(25_000), input, [many])).toBe(true); // 33 words at 2.5 %
  });
});
