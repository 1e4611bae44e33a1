import type { ContactSearchInput } from "@contacts/domain/search";

import type { FreeTextWords, PlaceFilter, SearchPlan } from "./plans.js";

/**
 * Every threshold of the contact search planner, and `chooseSearchPlan`, the pure function that
 * applies them. The figures were measured at a million contacts (BENCHMARKS.md, search passes);
 * cost-model.test.ts holds the table of inputs and statistics against the plan each gets.
 */

// ---------------------------------------------------------------- limits of a plan

/** At most this many dictionary words stand for one term (a short prefix in a large tenant). */
export const WORDS_PER_TERM = 2000;

/** Most words a one-term free-text search walks in order (each a range of at most a page). */
export const POSTING_WALK_MAX_WORDS = 256;

/** Most words of a term merged with a place's postings (a branch each). */
export const POSTING_MERGE_MAX_WORDS = 32;

// ---------------------------------------------------------------- costs

/**
 * Collecting a match reads its row (a bitmap heap scan, about 3-9 µs and a page each); walking the
 * last-name order past a contact reads an index entry that carries the place, role and status
 * columns (about 1 µs). Other sort orders walk rows.
 */
export const COVERED_WALK_COST = 1 / 8;

/**
 * Costs of free text with a place or role filter, measured at a million contacts (µs): a posting
 * walk checks about `page / frequency` entries per word (fewer for a word with fewer postings) on
 * the covering last-name index; intersecting the GIN indexes costs a fixed part plus a share per
 * contact holding the filter value (its bitmap), which the text's matches then narrow. Since
 * migration 24 a state or country has no GIN index: a collecting search probes its postings per
 * contact the other filters found, or reads them first when the value is rare (`postedPlace` in
 * search-sql.ts). These figures were measured before that, with a country's GIN index; at 200k the
 * probe of two terms and the most common country (67 %) took 0.3 ms.
 */
export const POSTING_CHECK_US = 6;
export const GIN_INTERSECT_FIXED_US = 3_000;
export const GIN_FILTER_ENTRY_US = 0.25;

/**
 * Fewest contacts holding a place for free text to merge with its postings rather than intersect
 * the GIN indexes (about 3 ms plus 0.25 µs per holder: `postingWalkCheaper`). Measured at 1M (ms,
 * merge against intersection): a city of 20 or 200 contacts with a common word ("com") 98-284
 * against 3, since the merge passes the word's postings up to the place's last one; a city of
 * 3,000 with "gmail" or a 17-word prefix 10-17 against 22-36.
 */
export const PLACE_MERGE_MIN_HOLDERS = 2_000;

// ---------------------------------------------------------------- statistics

/** How common the rarest place or role filter is, with the tenant's contact count (`filterFrequencyQuery`). */
export interface FilterFrequency {
  frequency: number | string | null;
  contacts: number | string | null;
}

/** What the planner knows besides the input, looked up before the search. */
export interface SearchStats {
  /** With `q`: the dictionary words of each term (`freeTextQuery`); null without. */
  freeText: FreeTextWords | null;
  /** The row of `filterFrequencyQuery` when it ran (`filterFrequencyKeys` not null); else undefined. */
  filter?: FilterFrequency | undefined;
}

// ---------------------------------------------------------------- shapes

/** Inputs that shape the page of a search without filtering it. */
const PAGING_KEYS = new Set(["q", "limit", "cursor", "sort", "fields"]);

/**
 * Filters a posting walk checks on the last-name index, which carries their columns (an index-only
 * probe per entry, migration 12): places and roles, whose frequency the planner's statistics give,
 * so that a value too rare to meet a page soon collects through its GIN index (city, role) or its
 * postings (state, country) instead (`collectRareMatches`, `postingWalkCheaper`).
 */
const WALK_FILTER_KEYS = new Set(["city", "state", "country", "role"]);

/** The place filters whose keys are posted (migration 14). */
const PLACE_KEYS: readonly PlaceFilter["kind"][] = ["city", "state", "country"];

const inLastNameOrder = (input: ContactSearchInput): boolean =>
  (input.sort?.field ?? "lastName") === "lastName";

/** The filters set on an input (a key may be present with no value: `{ cursor: undefined }`). */
const setFilters = (input: ContactSearchInput): [string, unknown][] =>
  Object.entries(input as Record<string, unknown>).filter(
    ([key, value]) => value !== undefined && !PAGING_KEYS.has(key),
  );

/**
 * The words of a free-text search that is served by walking `search_postings` (migration 13): one
 * term, the last-name order, and no filter but places and roles that are not rare (the caller
 * collects those: `collectRareMatches`). Null for every other search.
 */
export function postingWalkWords(
  input: ContactSearchInput,
  freeText: FreeTextWords | null,
): readonly string[] | null {
  const words = freeText?.length === 1 ? freeText[0] : undefined;
  if (!words?.length || words.length > POSTING_WALK_MAX_WORDS) return null;
  if (!inLastNameOrder(input)) return null;
  return setFilters(input).some(([key]) => !WALK_FILTER_KEYS.has(key)) ? null : words;
}

/**
 * The place filter of a search whose only filter is one place (free text aside), in the last-name
 * order. Its page is the first entries of that key (`placeWalk`) or, with one term of free text, of
 * the key and the term's words merged (`placeMerge`, unless few contacts hold the place:
 * `collectRareMatches`). Null for every other search.
 */
export function lonePlace(input: ContactSearchInput): PlaceFilter | null {
  if (!inLastNameOrder(input)) return null;
  const set = setFilters(input);
  const [only] = set;
  if (set.length !== 1 || !only) return null;
  const [key, value] = only;
  const kind = PLACE_KEYS.find((k) => k === key);
  return kind && typeof value === "string" ? { kind, value } : null;
}

/**
 * The place and role filters whose frequency the plan depends on, as `[kind, value]` (places
 * lower-cased as their keys are); null when there is none, or for a lone place without free text,
 * which walks its postings whatever its frequency.
 */
export function filterFrequencyKeys(input: ContactSearchInput): [string, string][] | null {
  if (input.q === undefined && lonePlace(input)) return null;
  const candidates: [string, string | undefined][] = [
    ["city", input.city?.toLowerCase()],
    ["state", input.state?.toLowerCase()],
    ["country", input.country?.toLowerCase()],
    ["role", input.role],
  ];
  const filters = candidates.filter((f): f is [string, string] => f[1] !== undefined);
  return filters.length ? filters : null;
}

// ---------------------------------------------------------------- choices

/**
 * Whether walking the postings of `words` words beats intersecting the GIN indexes for a filter
 * held by `frequency` of `contacts`. Measured (walk against intersection, ms): one word with a 5 %
 * country 6-8 against 12-17; eight words with a 2.5 % country 67-97 against 18-29; three words with
 * a 67 % country 7 against 200.
 */
export function postingWalkCheaper(
  words: number,
  frequency: number,
  contacts: number,
  limit: number,
): boolean {
  if (frequency <= 0) return false;
  const walk = ((words * (limit + 1)) / frequency) * POSTING_CHECK_US;
  const intersect = GIN_INTERSECT_FIXED_US + frequency * contacts * GIN_FILTER_ENTRY_US;
  return walk <= intersect;
}

/**
 * Whether to collect every match and sort them rather than walk the sort order: walking costs about
 * `page / frequency` steps of `walkCost`, collecting `frequency * contacts` rows, so collect when the
 * frequency is under `sqrt(page / contacts * walkCost)`: 0.7 % for a 50-row page of a million
 * contacts walking rows, 0.25 % walking the covering last-name index.
 *
 * With free text the choice is between walking the text's postings (`postingWalkWords`), or
 * merging them with a lone place's (`placeMerge`), and intersecting the word and filter GIN
 * indexes; see `postingWalkCheaper` and `PLACE_MERGE_MIN_HOLDERS`.
 */
export function collectRareMatches(
  row: FilterFrequency | undefined,
  input: ContactSearchInput,
  freeText: FreeTextWords | null = null,
): boolean {
  if (row?.frequency == null || row.contacts == null) return false;
  const frequency = Number(row.frequency);
  const contacts = Math.max(Number(row.contacts), 1);
  if (input.q !== undefined) {
    const words = postingWalkWords(input, freeText)?.length;
    if (words === undefined) return true;
    // A lone place merges its postings with the words' unless so few contacts hold it that
    // intersecting the GIN indexes is cheap (the merge may pass every posting of a common word
    // before a rare place meets a page).
    if (lonePlace(input) && words <= POSTING_MERGE_MAX_WORDS)
      return frequency * contacts < PLACE_MERGE_MIN_HOLDERS;
    return !postingWalkCheaper(words, frequency, contacts, input.limit);
  }
  const walkCost = inLastNameOrder(input) ? COVERED_WALK_COST : 1;
  return frequency < Math.sqrt(((input.limit + 1) / contacts) * walkCost);
}

/**
 * The plan of a search given whether it collects its rare matches (`collectRareMatches`): a lone
 * place walks or merges its postings, one term of free text walks its postings, email and other
 * free text (and rare filters) collect, everything else walks the sort order.
 */
export function searchPlanFor(
  input: ContactSearchInput,
  freeText: FreeTextWords | null,
  collect: boolean,
): SearchPlan {
  const place = lonePlace(input);
  if (place && input.q === undefined) return { kind: "placeWalk", place };
  if (place && !collect) {
    const words = postingWalkWords(input, freeText);
    if (words && words.length <= POSTING_MERGE_MAX_WORDS) return { kind: "placeMerge", place, words };
  }
  const words = collect ? null : postingWalkWords(input, freeText);
  if (words) return { kind: "postingWalk", words };
  if (collect || input.emailAddress || input.q) return { kind: "collect", freeText };
  return { kind: "sortWalk" };
}

/** The plan of `contacts.search` for an input and what was looked up for it. */
export function chooseSearchPlan(input: ContactSearchInput, stats: SearchStats): SearchPlan {
  const collect = stats.filter ? collectRareMatches(stats.filter, input, stats.freeText) : false;
  return searchPlanFor(input, stats.freeText, collect);
}
