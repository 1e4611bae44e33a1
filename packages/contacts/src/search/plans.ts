/**
 * The plans a contact search can take, as data: `chooseSearchPlan` (cost-model.ts) picks one,
 * `searchSql` (search-sql.ts) writes its SQL. Each is a query shape the indexes were built for
 * (BENCHMARKS.md measures each at a million contacts).
 */

/** A place filter whose keys are posted (`city:<key>`, migration 14). */
export interface PlaceFilter {
  kind: "city" | "state" | "country";
  value: string;
}

/** Free text: the dictionary words each term stands for (`freeTextQuery`), in term order. */
export type FreeTextWords = readonly (readonly string[])[];

export type SearchPlan =
  /** A lone place filter, no free text: the first entries of its posting key. */
  | { kind: "placeWalk"; place: PlaceFilter }
  /** One term of free text with a lone place: the words' postings merged with the place's. */
  | { kind: "placeMerge"; place: PlaceFilter; words: readonly string[] }
  /**
   * One term of free text, alone or with common place or role filters (checked on the last-name
   * index): the first entries of each word's postings, merged.
   */
  | { kind: "postingWalk"; words: readonly string[] }
  /**
   * Every match collected first (email, free text through the word GIN index, or a rare place or
   * role filter: a city or role through its GIN index, a state or country through its postings),
   * sorted for the page.
   */
  | { kind: "collect"; freeText: FreeTextWords | null }
  /** Walk the sort order's index until the page is full. */
  | { kind: "sortWalk" };

export type SearchPlanKind = SearchPlan["kind"];
