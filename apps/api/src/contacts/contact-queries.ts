import type { ContactSearchInput } from "@contacts/domain/search";
import { lonePlace, searchPlanFor } from "@contacts/contacts/search/cost-model";
import type { FreeTextWords } from "@contacts/contacts/search/plans";
import { descendantsSql, listSql } from "@contacts/contacts/search/list-sql";
import {
  filterFrequencyQuery as filterFrequencySql,
  freeTextQuery as freeTextSql,
  placeKeySql,
  searchSql,
} from "@contacts/contacts/search/search-sql";
import { ormQuery } from "@contacts/contacts/search/sql";
import type { SqlQuery } from "@contacts/contacts/search/sql";
import type { ContactDescendantsInput, ContactListInput } from "@contacts/domain/search";

/**
 * The contact queries in the shape the benchmark (bench/search.bench.ts) and the planner's API
 * tests call them: `?` placeholders and a parameter list, with `collect` forced by the caller. The
 * planner itself lives in packages/contacts/src/search (plans, cost model, SQL); the service runs
 * it through `planContactSearch`.
 */
export type { SqlQuery };
export type { FilterFrequency } from "@contacts/contacts/search/cost-model";
export {
  collectRareMatches,
  PLACE_MERGE_MIN_HOLDERS,
  POSTING_MERGE_MAX_WORDS,
  POSTING_WALK_MAX_WORDS,
  postingWalkCheaper,
  postingWalkWords,
  WORDS_PER_TERM,
} from "@contacts/contacts/search/cost-model";
export { freeTextWords, searchCursor } from "@contacts/contacts/search/search-sql";
export { freeTextTerms } from "@contacts/contacts/search/terms";
export { numberCursor } from "@contacts/contacts/search/list-sql";
export { arrayLiteral } from "@contacts/contacts/search/sql";

/** The dictionary words of each term (see `freeTextQuery` in search-sql.ts). */
export const freeTextQuery = (tenantId: string, terms: readonly string[]): SqlQuery =>
  ormQuery(freeTextSql(tenantId, terms));

/** How common the search's rarest place or role filter is; null when the plan does not depend on it. */
export function filterFrequencyQuery(tenantId: string, input: ContactSearchInput): SqlQuery | null {
  const query = filterFrequencySql(tenantId, input);
  return query ? ormQuery(query) : null;
}

/** The posting key of a search whose only filter is one place, in the last-name order; else null. */
export function lonePlaceKey(input: ContactSearchInput): SqlQuery | null {
  const place = lonePlace(input);
  return place ? ormQuery(placeKeySql(place)) : null;
}

/** `contacts.search` as SQL, with the plan `collect` (a rare filter: `collectRareMatches`) leads to. */
export function searchQuery(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
  freeText: FreeTextWords | null = null,
  collect = false,
): SqlQuery {
  return ormQuery(searchSql(tenantId, input, searchPlanFor(input, freeText, collect), taxIdIndex));
}

export const listQuery = (tenantId: string, input: ContactListInput): SqlQuery =>
  ormQuery(listSql(tenantId, input));

export const descendantsQuery = (tenantId: string, input: ContactDescendantsInput): SqlQuery =>
  ormQuery(descendantsSql(tenantId, input));

/** `?` placeholders as `$1, $2, ...` for `pg` (the queries above use no `?` operator). */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${String(++n)}`);
}
