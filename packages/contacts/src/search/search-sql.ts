import type { ContactSearchInput, SortField } from "@contacts/domain/search";

import { PAGE_COLUMNS } from "../contact-row.js";
import { decodeCursor, encodeCursor, invalidCursor } from "../cursor.js";
import { filterFrequencyKeys, WORDS_PER_TERM } from "./cost-model.js";
import type { FreeTextWords, PlaceFilter, SearchPlan } from "./plans.js";
import { arrayLiteral, empty, join, raw, sql } from "./sql.js";
import type { Sql } from "./sql.js";
import { transpositions } from "./terms.js";

/**
 * The SQL of `contacts.search`, built here and nowhere else so the benchmark runs exactly what the
 * API runs. Every query names its tenant (row-level security is the second line, not the only one)
 * and pages by keyset: the sort key and the id of the last row seen, so rows added meanwhile are
 * neither skipped nor repeated among those already there.
 */

/** The expression each sort orders by; all are non-null and indexed with (tenant_id, key, id). */
const SORT_KEYS: Record<SortField, { expression: Sql; cast: Sql }> = {
  lastName: { expression: raw("c.sort_last"), cast: raw("text") },
  firstName: { expression: raw("c.sort_first"), cast: raw("text") },
  createdAt: { expression: raw("c.created_at"), cast: raw("timestamptz") },
  updatedAt: { expression: raw("c.updated_at"), cast: raw("timestamptz") },
};

/** Position after the last row of a page: its sort key (as text), its id, and the sort it belongs to. */
interface SortCursor extends Record<string, string> {
  k: string;
  i: string;
  s: string;
}

function isSortCursor(value: Record<string, unknown>): value is SortCursor {
  return (
    typeof value.k === "string" &&
    typeof value.i === "string" &&
    /^[0-9a-f-]{36}$/.test(value.i) &&
    typeof value.s === "string"
  );
}

const directionOf = (input: ContactSearchInput): "asc" | "desc" => input.sort?.direction ?? "asc";

/** `a and b and ...` (never empty: a search always has its tenant condition). */
const and = (conditions: readonly Sql[]): Sql => join(conditions, " and ");

/** ` and a and b ...` after a condition already written; nothing when there are none. */
const andAlso = (conditions: readonly Sql[]): Sql =>
  conditions.length
    ? join(
        conditions.map((c) => sql`and ${c}`),
        " ",
        " ",
      )
    : empty;

/**
 * A case-insensitive prefix as a byte range `[low, high)` of the lower-cased value in the "C"
 * collation: every string that starts with `low` sorts below `low` + U+10FFFF. A range (unlike a
 * LIKE pattern) lets the planner scan the matching slice of a B-tree index and estimate its size.
 */
function prefixRange(value: string): [string, string] {
  const low = value.toLowerCase();
  return [low, `${low}\u{10FFFF}`];
}

/** `expression` (already in the "C" collation) starts with the prefix. */
function startsWith(expression: Sql, value: string): Sql {
  const [low, high] = prefixRange(value);
  return sql`${expression} >= ${low} collate "C" and ${expression} < ${high} collate "C"`;
}

/**
 * A state or country filter of a search that collects its matches, through its postings
 * (`state:<key>`, `country:<key>`): the key arrays have no index of their own since migration 24.
 * Written on the whole postings key, so the planner either reads the value's postings first (a rare
 * state: measured at 200k, 542 holders in 3.5 ms) or probes the key per contact that the other
 * filters found (a common country with two terms of free text: 0.3 ms). A list of the value's
 * contacts read first instead cost 430 ms for that country.
 */
function postedPlace(tenantId: string, place: PlaceFilter): Sql {
  return sql`exists (select 1 from search_postings p where p.tenant_id = ${tenantId}
      and p.word = (${placeKeySql(place)})[1] and p.sort_last = c.sort_last and p.contact_id = c.id)`;
}

/**
 * The filters of `contacts.search`, combined with AND (the tenant's first). A plan that walks an
 * index checks the place filters on the key arrays (the last-name index carries them); one that
 * collects (`collecting`) finds a state or country through its postings.
 */
function searchConditions(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
  collecting = false,
): Sql[] {
  const c: Sql[] = [sql`c.tenant_id = ${tenantId}`];
  if (input.ids) c.push(sql`c.id = any(${arrayLiteral(input.ids)}::uuid[])`);
  if (input.status) c.push(sql`c.status = any(${arrayLiteral(input.status)}::text[])`);
  // A person's sort key is their lower-cased name, so the name prefix is a range of the sort key
  // (index (tenant_id, sort key, id)); `is not null` keeps companies out.
  if (input.firstName)
    c.push(sql`c.first_name is not null`, startsWith(raw("c.sort_first"), input.firstName));
  if (input.lastName) c.push(sql`c.last_name is not null`, startsWith(raw("c.sort_last"), input.lastName));
  // `is not null` lets the planner use the partial indexes on these optional fields.
  if (input.nickname)
    c.push(sql`c.nickname is not null`, startsWith(raw(`(lower(c.nickname) collate "C")`), input.nickname));
  if (input.jobTitle)
    c.push(sql`c.job_title is not null`, startsWith(raw(`(lower(c.job_title) collate "C")`), input.jobTitle));
  if (input.role) c.push(sql`c.roles @> array[${input.role}]::text[]`);
  // Index (tenant_id, lower(contact_group), sort_last, id), migration 19.
  if (input.group)
    c.push(sql`c.contact_group is not null and lower(c.contact_group) = lower(${input.group}::text)`);
  if (input.accountIds) c.push(sql`c.account_id = any(${arrayLiteral(input.accountIds)}::uuid[])`);
  if (input.accountName) {
    const name = raw(`(lower(a.name) collate "C")`);
    const [low, high] = prefixRange(input.accountName);
    c.push(sql`c.account_id in (select a.id from accounts a where a.tenant_id = ${tenantId}
         and ${name} >= ${low} collate "C" and ${name} < ${high} collate "C")`);
  }
  if (input.numbers) c.push(sql`c.number = any(${arrayLiteral(input.numbers)}::bigint[])`);
  if (input.city) c.push(sql`c.city_keys @> array[lower(${input.city}::text)]`);
  for (const kind of ["state", "country"] as const) {
    const value = input[kind];
    if (value === undefined) continue;
    c.push(
      collecting
        ? postedPlace(tenantId, { kind, value })
        : sql`${raw(`c.${kind}_keys`)} @> array[lower(${value}::text)]`,
    );
  }
  if (taxIdIndex) c.push(sql`c.tax_id_index = ${taxIdIndex}`);
  return c;
}

/**
 * Free text, step one: the words of the tenant's dictionary each term stands for — words starting
 * with the term (from three characters; a shorter term only as a whole word), or one typo away from
 * it (from four characters: one edit, two from eight, or two neighbouring characters swapped).
 * Typos keep the first character, which bounds the slice of the dictionary compared. Rows are
 * `(term, word)`; `freeTextWords` groups them. Run before the search: with the words as constants
 * the planner knows from its statistics whether a word is rare (fetch its contacts and sort them)
 * or common (walk the sort order), which a subquery would hide from it.
 */
export function freeTextQuery(tenantId: string, terms: readonly string[]): Sql {
  if (terms.length === 0) return sql`select 0 as term, '' as word where false`;
  const parts = terms.map((term, n) => {
    const chars = Array.from(term);
    const [low, high] = chars.length >= 3 ? prefixRange(term) : [term, `${term}\u0001`];
    const edits = chars.length >= 8 ? 2 : 1;
    const [firstLow, firstHigh] = prefixRange(chars[0] ?? "");
    const typos =
      chars.length >= 4
        ? sql` or w.word = any(${arrayLiteral(transpositions(term))}::text[])
            or (w.word >= ${firstLow} collate "C" and w.word < ${firstHigh} collate "C" and length(w.word) between ${chars.length - edits} and ${chars.length + edits}
                and levenshtein_less_equal(w.word, ${term}, ${edits}) <= ${edits})`
        : empty;
    return sql`(select ${n}::int as term, w.word from search_words w where w.tenant_id = ${tenantId} and (
        (w.word >= ${low} collate "C" and w.word < ${high} collate "C")${typos}) order by w.word limit ${raw(String(WORDS_PER_TERM))})`;
  });
  return join(parts, " union all ");
}

/** The words found by `freeTextQuery`, one list per term (empty when nothing matches the term). */
export function freeTextWords(
  terms: readonly string[],
  rows: readonly { term: number; word: string }[],
): string[][] {
  const words = terms.map((): string[] => []);
  for (const row of rows) words[row.term]?.push(row.word);
  return words;
}

/**
 * The conditions that make a search collect every match first (a materialized set of ids and sort
 * keys, sorted for the page, then the page's rows fetched), so the planner cannot choose to walk the
 * sort index hoping to meet 50 matches early:
 * - an email: a GIN index on JSONB, without statistics; the planner guesses a thousand matches, and
 *   a rare email cost a walk through the whole tenant (measured: 7 s at 1M);
 * - free text, step two: every term (AND) by one of its words (OR), through the GIN index on the
 *   word arrays. The words of a name sit together in the name sort order, which the planner does
 *   not know: walking the last-name order for "white" read 942,000 rows before the Whites (2 s).
 *   A word held by a large part of the tenant (a mail domain) makes a large candidate set: slower,
 *   still correct.
 */
function candidateConditions(input: ContactSearchInput, freeText: FreeTextWords | null): Sql[] {
  const m: Sql[] = [];
  if (input.emailAddress) m.push(sql`c.email_keys @> jsonb_build_array(lower(${input.emailAddress}::text))`);
  if (input.q) {
    if (!freeText?.length || freeText.some((words) => words.length === 0)) m.push(sql`false`);
    else for (const words of freeText) m.push(sql`c.search_words && ${arrayLiteral(words)}::text[]`);
  }
  return m;
}

/**
 * How common the rarest place or role filter of a search is (`contact_filter_frequency`, from the
 * planner's statistics), with the tenant's contact count; null when the plan does not depend on it
 * (`filterFrequencyKeys`). Its row is `SearchStats.filter`.
 */
export function filterFrequencyQuery(tenantId: string, input: ContactSearchInput): Sql | null {
  const filters = filterFrequencyKeys(input);
  if (!filters) return null;
  const frequencies = filters.map(([kind, value]) => sql`contact_filter_frequency(${kind}, ${value})`);
  return sql`select least(${join(frequencies, ", ")}) as frequency,
      tenant_contact_count(${tenantId}) as contacts`;
}

/** The posting key of a place filter, `city:<key>` built with the filter's own `lower`. */
export function placeKeySql(place: PlaceFilter): Sql {
  return sql`array[${`${place.kind}:`} || lower(${place.value}::text)]`;
}

/** The sort a search cursor belongs to (a cursor of another sort is refused). */
function sortSignature(input: Pick<ContactSearchInput, "sort">): string {
  return `${input.sort?.field ?? "lastName"}:${input.sort?.direction ?? "asc"}`;
}

/** The scope a search cursor is sealed to: the tenant and the sort (see cursor.ts). */
const searchScope = (tenantId: string, input: Pick<ContactSearchInput, "sort">) =>
  `contacts.search:${tenantId}:${sortSignature(input)}`;

/**
 * The keyset condition of a search cursor on `(columns)` (the sort key, then the id); a cursor of
 * another sort or direction is a 400. None without a cursor.
 */
function afterCursor(tenantId: string, input: ContactSearchInput, columns: Sql, cast: Sql): Sql[] {
  if (!input.cursor) return [];
  const cursor = decodeCursor(input.cursor, searchScope(tenantId, input), isSortCursor);
  if (cursor.s !== sortSignature(input)) throw invalidCursor();
  const comparison = raw(directionOf(input) === "asc" ? ">" : "<");
  return [sql`(${columns}) ${comparison} (${cursor.k}::${cast}, ${cursor.i}::uuid)`];
}

/** The cursor after `last` in a search (its sort key as the database printed it, and its id). */
export function searchCursor(
  tenantId: string,
  input: ContactSearchInput,
  last: { sort_key?: string; id: string },
): string {
  return encodeCursor(
    { k: last.sort_key ?? "", i: last.id, s: sortSignature(input) },
    searchScope(tenantId, input),
  );
}

/** `t.sort_last dir, t.contact_id dir`: the order of the postings of table alias `t`. */
const postingOrder = (t: string, direction: "asc" | "desc"): Sql =>
  raw(`${t}.sort_last ${direction}, ${t}.contact_id ${direction}`);

/** The rows of a page of `(id, k)` pairs (`page`: a table or a subquery), in its order. */
function pageRows(tenantId: string, page: Sql, direction: "asc" | "desc"): Sql {
  return sql`select ${raw(PAGE_COLUMNS)}, p.k::text as sort_key from ${page} p
    join contacts c on c.tenant_id = ${tenantId} and c.id = p.id
    order by p.k ${raw(direction)}, p.id ${raw(direction)}`;
}

/**
 * `placeMerge`: one term of free text with one place filter: the postings of the term's words,
 * each in last-name order and merged (a contact holding two of the words once), joined in step
 * with the place's postings (a merge join: both are in the same order), so the page costs the
 * entries passed on both sides until 51 match (measured at 1M, SQL side: p95 12 ms against 16 for
 * the better of walking the words with the filter checked and intersecting the GIN indexes).
 */
function postingMergeSql(
  tenantId: string,
  input: ContactSearchInput,
  words: readonly string[],
  place: PlaceFilter,
): Sql {
  const direction = directionOf(input);
  const order = (t: string) => postingOrder(t, direction);
  const after = (t: string) =>
    andAlso(afterCursor(tenantId, input, raw(`${t}.sort_last, ${t}.contact_id`), raw("text")));
  const branches = words.map(
    (word) => sql`(select s.sort_last, s.contact_id from search_postings s
                  where s.tenant_id = ${tenantId} and s.word = ${word} ${after("s")} order by ${order("s")})`,
  );
  return sql`with page as materialized (
        select w.contact_id as id, w.sort_last as k from (
          select distinct on (u.sort_last, u.contact_id) u.sort_last, u.contact_id from (
            ${join(branches, " union all ")}
          ) u order by ${order("u")}
        ) w
        join search_postings p on p.tenant_id = ${tenantId} and p.word = (${placeKeySql(place)})[1]
          and p.sort_last = w.sort_last and p.contact_id = w.contact_id ${after("p")}
        order by ${order("w")} limit ${input.limit + 1})
      ${pageRows(tenantId, raw("page"), direction)}`;
}

/**
 * `postingWalk` and `placeWalk`: a page from the postings: after the cursor, the first `limit + 1`
 * entries of each key in last-name order that pass the filters (each checked on the contact's
 * entry in the last-name index), merged without duplicates (a contact may hold two of the words);
 * then the page's rows. A contact on the page is among the first `limit + 1` passing entries of
 * each of its keys, so no key needs more.
 */
function postingWalkSql(tenantId: string, input: ContactSearchInput, keys: Sql, checkFilters: boolean): Sql {
  const direction = directionOf(input);
  const conditions = afterCursor(tenantId, input, raw("s.sort_last, s.contact_id"), raw("text"));
  const filters = searchConditions(tenantId, input, null);
  if (checkFilters && filters.length > 1) {
    conditions.push(sql`exists (select 1 from contacts c where ${and(filters)}
         and c.sort_last = s.sort_last and c.id = s.contact_id)`);
  }
  return sql`with page as materialized (
        select p.contact_id as id, p.sort_last as k
        from unnest(${keys}) as t (word)
        cross join lateral (
          select s.contact_id, s.sort_last from search_postings s
          where s.tenant_id = ${tenantId} and s.word = t.word ${andAlso(conditions)}
          order by ${postingOrder("s", direction)} limit ${input.limit + 1}
        ) p
        group by p.sort_last, p.contact_id
        order by ${postingOrder("p", direction)} limit ${input.limit + 1})
      ${pageRows(tenantId, raw("page"), direction)}`;
}

/**
 * The filters of a search in its sort order (`candidates` added), with the keyset condition of its
 * cursor on the sort key and id: what `collect` and `sortWalk` select from contacts.
 */
function sortedConditions(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
  candidates: readonly Sql[],
  collecting: boolean,
): { expression: Sql; where: Sql } {
  const { expression, cast } = SORT_KEYS[input.sort?.field ?? "lastName"];
  const c = searchConditions(tenantId, input, taxIdIndex, collecting);
  if (candidates.length) c.push(and(candidates));
  c.push(...afterCursor(tenantId, input, sql`${expression}, c.id`, cast));
  return { expression, where: and(c) };
}

/**
 * `contacts.search` as SQL for its plan (`chooseSearchPlan`): the filters, the keyset condition for
 * the cursor, the sort with the id as tie-breaker, one row more than the page (to know whether
 * there is a next page).
 */
export function searchSql(
  tenantId: string,
  input: ContactSearchInput,
  plan: SearchPlan,
  taxIdIndex: string | null,
): Sql {
  const direction = directionOf(input);
  const dir = raw(direction);
  switch (plan.kind) {
    case "placeWalk":
      return postingWalkSql(tenantId, input, placeKeySql(plan.place), false);
    case "placeMerge":
      return postingMergeSql(tenantId, input, plan.words, plan.place);
    case "postingWalk":
      return postingWalkSql(tenantId, input, sql`${arrayLiteral(plan.words)}::text[]`, true);
    case "collect": {
      const candidates = candidateConditions(input, plan.freeText);
      const { expression, where } = sortedConditions(tenantId, input, taxIdIndex, candidates, true);
      const page = sql`(select id, k from matches order by k ${dir}, id ${dir} limit ${input.limit + 1})`;
      return sql`with matches as materialized (select c.id, ${expression} as k from contacts c where ${where})
        ${pageRows(tenantId, page, direction)}`;
    }
    case "sortWalk": {
      // The page first (ids and sort keys, from an index alone when it carries the filters: see
      // migration 12), then its rows: walking past non-matching contacts reads index entries, not rows.
      const { expression, where } = sortedConditions(tenantId, input, taxIdIndex, [], false);
      return sql`with page as materialized (select c.id, ${expression} as k from contacts c where ${where}
        order by ${expression} ${dir}, c.id ${dir} limit ${input.limit + 1})
      ${pageRows(tenantId, raw("page"), direction)}`;
    }
  }
}
