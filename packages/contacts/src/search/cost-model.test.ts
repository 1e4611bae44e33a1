import { describe, expect, it } from "vitest";
import { ContactSearchInput } from "@contacts/domain/search";

import {
  chooseSearchPlan,
  filterFrequencyKeys,
  PLACE_MERGE_MIN_HOLDERS,
  POSTING_MERGE_MAX_WORDS,
  POSTING_WALK_MAX_WORDS,
} from "./cost-model.js";
import type { FilterFrequency, SearchStats } from "./cost-model.js";
import type { SearchPlanKind } from "./plans.js";

const MILLION = 1_000_000;
/** The filter-frequency row of a value held by `share` of a million contacts. */
const held = (share: number): FilterFrequency => ({ frequency: share, contacts: MILLION });
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${String(i)}`);
const byFirstName = { sort: { field: "firstName", direction: "asc" } };
const byCreated = { sort: { field: "createdAt", direction: "desc" } };

/** [what, the input as sent (limit 50 unless given), what was looked up, the plan]. */
const TABLE: [string, Record<string, unknown>, SearchStats, SearchPlanKind][] = [
  ["no filter", {}, { freeText: null }, "sortWalk"],
  ["a status", { status: ["active"] }, { freeText: null }, "sortWalk"],
  ["a name prefix, first-name order", { firstName: "ada", ...byFirstName }, { freeText: null }, "sortWalk"],
  ["a tax ID", { taxId: "123-45-6789" }, { freeText: null }, "sortWalk"],
  [
    "a tax ID and a city: not a lone place",
    { taxId: "123-45-6789", city: "Paris" },
    { freeText: null },
    "sortWalk",
  ],
  ["a lone city", { city: "Paris" }, { freeText: null }, "placeWalk"],
  [
    "a lone country, descending",
    { country: "FR", sort: { field: "lastName", direction: "desc" } },
    { freeText: null },
    "placeWalk",
  ],
  ["a lone city in another order", { city: "Paris", ...byCreated }, { freeText: null }, "sortWalk"],
  [
    "a rare city in another order (0.5 % < 0.71 %)",
    { city: "Paris", ...byCreated },
    { freeText: null, filter: held(0.005) },
    "collect",
  ],
  [
    "a city in another order (0.8 % > 0.71 %)",
    { city: "Paris", ...byCreated },
    { freeText: null, filter: held(0.008) },
    "sortWalk",
  ],
  [
    "a rare role, last-name order (0.2 % < 0.25 %)",
    { role: "BILLING" },
    { freeText: null, filter: held(0.002) },
    "collect",
  ],
  [
    "a role, last-name order (0.3 % > 0.25 %)",
    { role: "BILLING" },
    { freeText: null, filter: held(0.003) },
    "sortWalk",
  ],
  [
    "a role without statistics",
    { role: "BILLING" },
    { freeText: null, filter: { frequency: null, contacts: MILLION } },
    "sortWalk",
  ],
  [
    "a rare city with a role",
    { city: "Paris", role: "BILLING" },
    { freeText: null, filter: held(0.0001) },
    "collect",
  ],
  ["an email", { emailAddress: "ada@example.com" }, { freeText: null }, "collect"],
  [
    "an email and a common role",
    { emailAddress: "ada@example.com", role: "BILLING" },
    { freeText: null, filter: held(0.5) },
    "collect",
  ],
  ["one term of free text", { q: "smith" }, { freeText: [["smith", "smithe"]] }, "postingWalk"],
  [
    "one term, descending",
    { q: "smith", sort: { field: "lastName", direction: "desc" } },
    { freeText: [["smith"]] },
    "postingWalk",
  ],
  [
    `one term of ${String(POSTING_WALK_MAX_WORDS)} words`,
    { q: "smi" },
    { freeText: [words(POSTING_WALK_MAX_WORDS)] },
    "postingWalk",
  ],
  [
    `one term of ${String(POSTING_WALK_MAX_WORDS + 1)} words`,
    { q: "smi" },
    { freeText: [words(POSTING_WALK_MAX_WORDS + 1)] },
    "collect",
  ],
  ["a term matching no word", { q: "zzzz" }, { freeText: [[]] }, "collect"],
  ["free text with no terms", { q: "---" }, { freeText: [] }, "collect"],
  ["two terms", { q: "john smith" }, { freeText: [["john"], ["smith"]] }, "collect"],
  ["one term, first-name order", { q: "smith", ...byFirstName }, { freeText: [["smith"]] }, "collect"],
  ["one term and a status", { q: "smith", status: ["active"] }, { freeText: [["smith"]] }, "collect"],
  [
    "one term and a role, not looked up",
    { q: "smith", role: "BILLING" },
    { freeText: [["smith"]] },
    "postingWalk",
  ],
  [
    "one term and a 5 % country: walk ~6 ms < intersect ~15 ms",
    { q: "smith", country: "FR", role: "BILLING" },
    { freeText: [["smith"]], filter: held(0.05) },
    "postingWalk",
  ],
  [
    "one term and a 2 % role: walk ~15 ms > intersect ~8 ms",
    { q: "smith", role: "BILLING" },
    { freeText: [["smith"]], filter: held(0.02) },
    "collect",
  ],
  ["eight words and a 2.5 % role", { q: "mart", role: "BILLING" }, { freeText: [words(8)] }, "postingWalk"],
  [
    "eight words and a 2.5 % role, looked up",
    { q: "mart", role: "BILLING" },
    { freeText: [words(8)], filter: held(0.025) },
    "collect",
  ],
  [
    "one term and a lone city, not looked up",
    { q: "smith", city: "Paris" },
    { freeText: [["smith"]] },
    "placeMerge",
  ],
  [
    `one term and a city of ${String(PLACE_MERGE_MIN_HOLDERS)} contacts`,
    { q: "smith", city: "Paris" },
    { freeText: [["smith"]], filter: held(PLACE_MERGE_MIN_HOLDERS / MILLION) },
    "placeMerge",
  ],
  [
    `one term and a city of ${String(PLACE_MERGE_MIN_HOLDERS - 1)} contacts`,
    { q: "smith", city: "Paris" },
    { freeText: [["smith"]], filter: held((PLACE_MERGE_MIN_HOLDERS - 1) / MILLION) },
    "collect",
  ],
  [
    `${String(POSTING_MERGE_MAX_WORDS)} words and a common state`,
    { q: "pla", state: "IL" },
    { freeText: [words(POSTING_MERGE_MAX_WORDS)], filter: held(0.67) },
    "placeMerge",
  ],
  [
    `${String(POSTING_MERGE_MAX_WORDS + 1)} words and a common state: walk`,
    { q: "pla", state: "IL" },
    { freeText: [words(POSTING_MERGE_MAX_WORDS + 1)], filter: held(0.67) },
    "postingWalk",
  ],
  [
    `${String(POSTING_MERGE_MAX_WORDS + 1)} words and a 2.5 % state: intersect`,
    { q: "pla", state: "IL" },
    { freeText: [words(POSTING_MERGE_MAX_WORDS + 1)], filter: held(0.025) },
    "collect",
  ],
  [
    "one term and a lone city, first-name order",
    { q: "smith", city: "Paris", ...byFirstName },
    { freeText: [["smith"]], filter: held(0.3) },
    "collect",
  ],
];

describe("chooseSearchPlan", () => {
  it.each(TABLE)("%s", (_what, raw, stats, kind) => {
    const input = ContactSearchInput.parse({ limit: 50, ...raw });
    expect(chooseSearchPlan(input, stats).kind).toBe(kind);
  });

  it("carries what each plan's SQL needs", () => {
    const input = ContactSearchInput.parse({ limit: 50, q: "smith", city: "Paris" });
    expect(chooseSearchPlan(input, { freeText: [["smith", "smithe"]] })).toEqual({
      kind: "placeMerge",
      place: { kind: "city", value: "Paris" },
      words: ["smith", "smithe"],
    });
    expect(
      chooseSearchPlan(ContactSearchInput.parse({ limit: 50, state: "IL" }), { freeText: null }),
    ).toEqual({
      kind: "placeWalk",
      place: { kind: "state", value: "IL" },
    });
    const twoTerms = [["john"], ["smith"]];
    expect(
      chooseSearchPlan(ContactSearchInput.parse({ limit: 50, q: "john smith" }), { freeText: twoTerms }),
    ).toEqual({
      kind: "collect",
      freeText: twoTerms,
    });
  });
});

describe("filterFrequencyKeys", () => {
  it("looks up the place and role filters the plan depends on, places lower-cased", () => {
    const keys = (raw: Record<string, unknown>) =>
      filterFrequencyKeys(ContactSearchInput.parse({ limit: 50, ...raw }));
    expect(keys({ city: "Paris" })).toBeNull(); // a lone place walks whatever its frequency
    expect(keys({ city: "Paris", q: "ada" })).toEqual([["city", "paris"]]);
    expect(keys({ state: "IL", country: "US", role: "BILLING" })).toEqual([
      ["state", "il"],
      ["country", "us"],
      ["role", "BILLING"],
    ]);
    expect(keys({ status: ["active"] })).toBeNull();
  });
});
