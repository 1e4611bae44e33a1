import type { ContactSearchInput } from "@contacts/domain/search";

import { chooseSearchPlan } from "./cost-model.js";
import type { FilterFrequency, SearchStats } from "./cost-model.js";
import type { SearchPlan } from "./plans.js";
import { filterFrequencyQuery, freeTextQuery, freeTextWords, searchSql } from "./search-sql.js";
import type { Sql } from "./sql.js";
import { freeTextTerms } from "./terms.js";

/** Runs a query in the caller's transaction (bound to the tenant) and returns its rows. */
export type RunQuery = <T extends object>(query: Sql) => Promise<T[]>;

/**
 * The SQL of one `contacts.search`, planned: with free text, the dictionary words of its terms are
 * looked up first; with a place or role filter whose frequency matters, how common it is; then
 * `chooseSearchPlan` picks the plan and `searchSql` writes it. The caller runs the returned query
 * (one row more than the page) in the same transaction.
 */
export async function planContactSearch(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
  run: RunQuery,
): Promise<{ plan: SearchPlan; query: Sql }> {
  const stats: SearchStats = { freeText: null };
  if (input.q) {
    const terms = freeTextTerms(input.q);
    stats.freeText = terms.length
      ? freeTextWords(terms, await run<{ term: number; word: string }>(freeTextQuery(tenantId, terms)))
      : [];
  }
  const frequency = filterFrequencyQuery(tenantId, input);
  if (frequency) stats.filter = (await run<FilterFrequency>(frequency))[0];
  const plan = chooseSearchPlan(input, stats);
  return { plan, query: searchSql(tenantId, input, plan, taxIdIndex) };
}
