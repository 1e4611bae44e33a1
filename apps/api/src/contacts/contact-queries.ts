import type {
  ContactDescendantsInput,
  ContactListInput,
  ContactSearchInput,
  SortField,
} from "@contacts/domain/search";

import { PAGE_COLUMNS } from "@contacts/contacts/contact-row";
import { decodeCursor, encodeCursor, invalidCursor } from "./cursor.js";

/**
 * The SQL behind finding contacts, built here and nowhere else so the benchmark runs exactly what
 * the API runs. `?` placeholders (the ORM's); `toPgPlaceholders` turns them into `$n` for `pg`.
 * Every query names its tenant (row-level security is the second line, not the only one) and pages
 * by keyset: the sort key and the id of the last row seen, so rows added meanwhile are neither
 * skipped nor repeated among those already there.
 */
export interface SqlQuery {
  sql: string;
  params: unknown[];
}

/** The expression each sort orders by; all are non-null and indexed with (tenant_id, key, id). */
const SORT_KEYS: Record<SortField, { expression: string; cast: string }> = {
  lastName: { expression: "c.sort_last", cast: "text" },
  firstName: { expression: "c.sort_first", cast: "text" },
  createdAt: { expression: "c.created_at", cast: "timestamptz" },
  updatedAt: { expression: "c.updated_at", cast: "timestamptz" },
};

/** Position after the last row of a page: its sort key (as text), its id, and the sort it belongs to. */
interface SortCursor extends Record<string, string> {
  k: string;
  i: string;
  s: string;
}

interface NumberCursor extends Record<string, number> {
  n: number;
}

function isSortCursor(value: Record<string, unknown>): value is SortCursor {
  return (
    typeof value.k === "string" &&
    typeof value.i === "string" &&
    /^[0-9a-f-]{36}$/.test(value.i) &&
    typeof value.s === "string"
  );
}

function isNumberCursor(value: Record<string, unknown>): value is NumberCursor {
  return Number.isSafeInteger(value.n) && (value.n as number) >= 0;
}

/**
 * A list as a PostgreSQL array literal (`{"a","b"}`), passed as one text parameter: query builders
 * expand a bound JS array into a list of parameters, which `= any(?::uuid[])` cannot take.
 */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(",")}}`;
}

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
function startsWith(c: Conditions, expression: string, value: string): void {
  const [low, high] = prefixRange(value);
  c.add(`${expression} >= ? collate "C" and ${expression} < ? collate "C"`, low, high);
}

class Conditions {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];

  add(sql: string, ...params: unknown[]): void {
    this.parts.push(sql);
    this.params.push(...params);
  }

  get where(): string {
    return this.parts.join(" and ");
  }
}

/** The filters of `contacts.search`, combined with AND. */
function searchConditions(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
): Conditions {
  const c = new Conditions();
  c.add("c.tenant_id = ?", tenantId);
  if (input.ids) c.add("c.id = any(?::uuid[])", arrayLiteral(input.ids));
  if (input.status) c.add("c.status = any(?::text[])", arrayLiteral(input.status));
  // A person's sort key is their lower-cased name, so the name prefix is a range of the sort key
  // (index (tenant_id, sort key, id)); `is not null` keeps companies out.
  if (input.firstName) {
    c.add("c.first_name is not null");
    startsWith(c, "c.sort_first", input.firstName);
  }
  if (input.lastName) {
    c.add("c.last_name is not null");
    startsWith(c, "c.sort_last", input.lastName);
  }
  // `is not null` lets the planner use the partial indexes on these optional fields.
  if (input.nickname) {
    c.add("c.nickname is not null");
    startsWith(c, `(lower(c.nickname) collate "C")`, input.nickname);
  }
  if (input.jobTitle) {
    c.add("c.job_title is not null");
    startsWith(c, `(lower(c.job_title) collate "C")`, input.jobTitle);
  }
  if (input.role) c.add("c.roles @> array[?]::text[]", input.role);
  // Index (tenant_id, lower(contact_group), sort_last, id), migration 19.
  if (input.group)
    c.add("c.contact_group is not null and lower(c.contact_group) = lower(?::text)", input.group);
  if (input.accountIds) c.add("c.account_id = any(?::uuid[])", arrayLiteral(input.accountIds));
  if (input.accountName) {
    const [low, high] = prefixRange(input.accountName);
    c.add(
      `c.account_id in (select a.id from accounts a where a.tenant_id = ?
         and (lower(a.name) collate "C") >= ? collate "C" and (lower(a.name) collate "C") < ? collate "C")`,
      tenantId,
      low,
      high,
    );
  }
  if (input.numbers) c.add("c.number = any(?::bigint[])", arrayLiteral(input.numbers));
  if (input.city) c.add("c.city_keys @> array[lower(?::text)]", input.city);
  if (input.state) c.add("c.state_keys @> array[lower(?::text)]", input.state);
  if (input.country) c.add("c.country_keys @> array[lower(?::text)]", input.country);
  if (taxIdIndex) c.add("c.tax_id_index = ?", taxIdIndex);
  return c;
}

/**
 * The terms of free text, split as the database splits a contact's words (`contact_words`: spaces
 * and ASCII punctuation; at least two characters; digits-only tokens dropped), at most five.
 */
export function freeTextTerms(q: string): string[] {
  const words = q
    .toLowerCase()
    .split(/[\s!-/:-@[-`{-~]+/)
    .filter((w) => w.length >= 2 && !/^[0-9]+$/.test(w));
  return [...new Set(words)].slice(0, 5);
}

/** The term with two neighbouring characters swapped, each way: the commonest typo. */
function transpositions(term: string): string[] {
  const chars = Array.from(term);
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) {
    if (chars[i] === chars[i + 1]) continue;
    const swapped = [...chars];
    [swapped[i], swapped[i + 1]] = [chars[i + 1] ?? "", chars[i] ?? ""];
    out.push(swapped.join(""));
  }
  return out;
}

/** At most this many dictionary words stand for one term (a short prefix in a large tenant). */
export const WORDS_PER_TERM = 2000;

/**
 * Free text, step one: the words of the tenant's dictionary each term stands for — words starting
 * with the term (from three characters; a shorter term only as a whole word), or one typo away from
 * it (from four characters: one edit, two from eight, or two neighbouring characters swapped).
 * Typos keep the first character, which bounds the slice of the dictionary compared. Rows are
 * `(term, word)`; `freeTextWords` groups them. Run before `searchQuery`: with the words as
 * constants the planner knows from its statistics whether a word is rare (fetch its contacts and
 * sort them) or common (walk the sort order), which a subquery would hide from it.
 */
export function freeTextQuery(tenantId: string, terms: readonly string[]): SqlQuery {
  const parts: string[] = [];
  const params: unknown[] = [];
  terms.forEach((term, n) => {
    const chars = Array.from(term);
    const [low, high] = chars.length >= 3 ? prefixRange(term) : [term, `${term}\u0001`];
    const edits = chars.length >= 8 ? 2 : 1;
    const typos =
      chars.length >= 4
        ? ` or w.word = any(?::text[])
            or (w.word >= ? collate "C" and w.word < ? collate "C" and length(w.word) between ? and ?
                and levenshtein_less_equal(w.word, ?, ?) <= ?)`
        : "";
    parts.push(`(select ?::int as term, w.word from search_words w where w.tenant_id = ? and (
        (w.word >= ? collate "C" and w.word < ? collate "C")${typos}) order by w.word limit ${String(WORDS_PER_TERM)})`);
    params.push(n, tenantId, low, high);
    if (chars.length >= 4) {
      const [firstLow, firstHigh] = prefixRange(chars[0] ?? "");
      params.push(arrayLiteral(transpositions(term)), firstLow, firstHigh);
      params.push(chars.length - edits, chars.length + edits, term, edits, edits);
    }
  });
  return { sql: parts.join(" union all "), params };
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
 * The filters that make a search collect every match first (a materialized set of ids and sort
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
function candidateConditions(
  tenantId: string,
  input: ContactSearchInput,
  freeText: readonly (readonly string[])[] | null,
): Conditions | null {
  if (!input.emailAddress && !input.q) return null;
  const m = new Conditions();
  if (input.emailAddress) m.add("c.email_keys @> jsonb_build_array(lower(?::text))", input.emailAddress);
  if (input.q) {
    if (!freeText?.length || freeText.some((words) => words.length === 0)) m.add("false");
    else for (const words of freeText) m.add("c.search_words && ?::text[]", arrayLiteral(words));
  }
  return m;
}

/** The row of `filterFrequencyQuery`. */
export interface FilterFrequency {
  frequency: number | string | null;
  contacts: number | string | null;
}

/**
 * How common the rarest place or role filter of a search is (`contact_filter_frequency`, from the
 * planner's statistics), with the tenant's contact count; null when the search has none or its plan
 * does not depend on it (`lonePlaceKey`).
 */
export function filterFrequencyQuery(tenantId: string, input: ContactSearchInput): SqlQuery | null {
  // A lone place filter walks its postings whatever its frequency.
  if (input.q === undefined && lonePlaceKey(input)) return null;
  const candidates: [string, string | undefined][] = [
    ["city", input.city?.toLowerCase()],
    ["state", input.state?.toLowerCase()],
    ["country", input.country?.toLowerCase()],
    ["role", input.role],
  ];
  const filters = candidates.filter((f): f is [string, string] => f[1] !== undefined);
  if (filters.length === 0) return null;
  return {
    sql: `select least(${filters.map(() => "contact_filter_frequency(?, ?)").join(", ")}) as frequency,
      tenant_contact_count(?) as contacts`,
    params: [...filters.flat(), tenantId],
  };
}

/**
 * Collecting a match reads its row (a bitmap heap scan, about 3-9 µs and a page each); walking the
 * last-name order past a contact reads an index entry that carries the place, role and status
 * columns (about 1 µs). Other sort orders walk rows.
 */
const COVERED_WALK_COST = 1 / 8;

/**
 * Whether to collect every match and sort them rather than walk the sort order: walking costs about
 * `page / frequency` steps of `walkCost`, collecting `frequency * contacts` rows, so collect when the
 * frequency is under `sqrt(page / contacts * walkCost)`: 0.7 % for a 50-row page of a million
 * contacts walking rows, 0.25 % walking the covering last-name index.
 *
 * With free text the choice is between walking the text's postings (`postingWalkWords`), or
 * merging them with a lone place's (`postingMergeQuery`), and intersecting the word and filter GIN
 * indexes; see `postingWalkCheaper` and `PLACE_MERGE_MIN_HOLDERS`.
 */
export function collectRareMatches(
  row: FilterFrequency | undefined,
  input: ContactSearchInput,
  freeText: readonly (readonly string[])[] | null = null,
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
    if (lonePlaceKey(input) && words <= POSTING_MERGE_MAX_WORDS)
      return frequency * contacts < PLACE_MERGE_MIN_HOLDERS;
    return !postingWalkCheaper(words, frequency, contacts, input.limit);
  }
  const walkCost = (input.sort?.field ?? "lastName") === "lastName" ? COVERED_WALK_COST : 1;
  return frequency < Math.sqrt(((input.limit + 1) / contacts) * walkCost);
}

/**
 * Costs of free text with a place or role filter, measured at a million contacts (µs): a posting
 * walk checks about `page / frequency` entries per word (fewer for a word with fewer postings) on
 * the covering last-name index; intersecting the GIN indexes costs a fixed part plus a share per
 * contact holding the filter value (its bitmap), which the text's matches then narrow.
 */
const POSTING_CHECK_US = 6;
const GIN_INTERSECT_FIXED_US = 3_000;
const GIN_FILTER_ENTRY_US = 0.25;

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

/** Most words a one-term free-text search walks in order (each a range of at most a page). */
export const POSTING_WALK_MAX_WORDS = 256;

/** Inputs that shape the page of a search without filtering it. */
const PAGING_KEYS = new Set(["q", "limit", "cursor", "sort", "fields"]);

/**
 * Filters a posting walk checks on the last-name index, which carries their columns (an index-only
 * probe per entry, migration 12): places and roles, whose frequency the planner's statistics give,
 * so that a value too rare to meet a page soon collects through its GIN index instead
 * (`collectRareMatches`, `postingWalkCheaper`).
 */
const WALK_FILTER_KEYS = new Set(["city", "state", "country", "role"]);

/**
 * The words of a free-text search that is served by walking `search_postings` (migration 13): one
 * term, the last-name order, and no filter but places and roles that are not rare (the caller
 * collects those: `collectRareMatches`). Null for every other search.
 */
export function postingWalkWords(
  input: ContactSearchInput,
  freeText: readonly (readonly string[])[] | null,
): readonly string[] | null {
  const words = freeText?.length === 1 ? freeText[0] : undefined;
  if (!words?.length || words.length > POSTING_WALK_MAX_WORDS) return null;
  if ((input.sort?.field ?? "lastName") !== "lastName") return null;
  // A key may be present with no value (`{ cursor: undefined }`): only set filters count.
  const other = Object.entries(input as Record<string, unknown>).some(
    ([key, value]) => value !== undefined && !PAGING_KEYS.has(key) && !WALK_FILTER_KEYS.has(key),
  );
  return other ? null : words;
}

/** The place filters whose keys are posted (migration 14), in the order a walk prefers them. */
const PLACE_KEYS = ["city", "state", "country"] as const;

/**
 * The posting key of a search whose only filter is one place (free text aside), in the last-name
 * order: `city:<key>` built with the filter's own `lower`. Its page is the first entries of that key
 * (`postingWalkQuery`) or, with one term of free text, of the key and the term's words merged
 * (`postingMergeQuery`, unless few contacts hold the place: `collectRareMatches`). Null for every
 * other search.
 */
export function lonePlaceKey(input: ContactSearchInput): SqlQuery | null {
  if ((input.sort?.field ?? "lastName") !== "lastName") return null;
  const set = Object.entries(input as Record<string, unknown>).filter(
    ([key, value]) => value !== undefined && !PAGING_KEYS.has(key),
  );
  const [only] = set;
  if (set.length !== 1 || !only) return null;
  const [key, value] = only;
  if (!(PLACE_KEYS as readonly string[]).includes(key)) return null;
  return { sql: `array[? || lower(?::text)]`, params: [`${key}:`, value] };
}

/** Most words of a term merged with a place's postings (a branch each). */
export const POSTING_MERGE_MAX_WORDS = 32;

/**
 * Fewest contacts holding a place for free text to merge with its postings rather than intersect
 * the GIN indexes (about 3 ms plus 0.25 µs per holder: `postingWalkCheaper`). Measured at 1M (ms,
 * merge against intersection): a city of 20 or 200 contacts with a common word ("com") 98-284
 * against 3, since the merge passes the word's postings up to the place's last one; a city of
 * 3,000 with "gmail" or a 17-word prefix 10-17 against 22-36.
 */
export const PLACE_MERGE_MIN_HOLDERS = 2_000;

/**
 * One term of free text with one place filter: the postings of the term's words, each in last-name
 * order and merged (a contact holding two of the words once), joined in step with the place's
 * postings (a merge join: both are in the same order), so the page costs the entries passed on both
 * sides until 51 match (measured at 1M, SQL side: p95 12 ms against 16 for the better of walking the
 * words with the filter checked and intersecting the GIN indexes).
 */
function postingMergeQuery(
  tenantId: string,
  input: ContactSearchInput,
  words: readonly string[],
  place: SqlQuery,
): SqlQuery {
  const direction = input.sort?.direction ?? "asc";
  const order = (t: string) => `${t}.sort_last ${direction}, ${t}.contact_id ${direction}`;
  const after = (t: string): Conditions => {
    const c = new Conditions();
    afterCursor(c, tenantId, input, `${t}.sort_last, ${t}.contact_id`, "text");
    return c;
  };
  const tail = (c: Conditions) => c.parts.map((part) => `and ${part}`).join(" ");
  const branch = after("s");
  const placeSide = after("p");
  return {
    sql: `with page as materialized (
        select w.contact_id as id, w.sort_last as k from (
          select distinct on (u.sort_last, u.contact_id) u.sort_last, u.contact_id from (
            ${words
              .map(
                () => `(select s.sort_last, s.contact_id from search_postings s
                  where s.tenant_id = ? and s.word = ? ${tail(branch)} order by ${order("s")})`,
              )
              .join(" union all ")}
          ) u order by ${order("u")}
        ) w
        join search_postings p on p.tenant_id = ? and p.word = (${place.sql})[1]
          and p.sort_last = w.sort_last and p.contact_id = w.contact_id ${tail(placeSide)}
        order by ${order("w")} limit ?)
      ${pageRows("page", direction)}`,
    params: [
      ...words.flatMap((word) => [tenantId, word, ...branch.params]),
      tenantId,
      ...place.params,
      ...placeSide.params,
      input.limit + 1,
      tenantId,
    ],
  };
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
 * another sort or direction is a 400.
 */
function afterCursor(
  c: Conditions,
  tenantId: string,
  input: ContactSearchInput,
  columns: string,
  cast: string,
): void {
  if (!input.cursor) return;
  const direction = input.sort?.direction ?? "asc";
  const cursor = decodeCursor(input.cursor, searchScope(tenantId, input), isSortCursor);
  if (cursor.s !== sortSignature(input)) throw invalidCursor();
  c.add(`(${columns}) ${direction === "asc" ? ">" : "<"} (?::${cast}, ?::uuid)`, cursor.k, cursor.i);
}

/** The rows of a page of `(id, k)` pairs, in its order (the tenant is the next parameter). */
function pageRows(page: string, direction: "asc" | "desc"): string {
  return `select ${PAGE_COLUMNS}, p.k::text as sort_key from ${page} p
    join contacts c on c.tenant_id = ? and c.id = p.id
    order by p.k ${direction}, p.id ${direction}`;
}

/**
 * A one-term free-text page from the postings: after the cursor, the first `limit + 1` entries of
 * each word in last-name order that pass the filters (each checked on the contact's entry in the
 * last-name index), merged without duplicates (a contact may hold two of the words); then the
 * page's rows. A contact on the page is among the first `limit + 1` passing entries of each of its
 * words, so no word needs more.
 */
function postingWalkQuery(
  tenantId: string,
  input: ContactSearchInput,
  words: SqlQuery,
  checkFilters = true,
): SqlQuery {
  const direction = input.sort?.direction ?? "asc";
  const after = new Conditions();
  afterCursor(after, tenantId, input, "s.sort_last, s.contact_id", "text");
  const filters = searchConditions(tenantId, input, null);
  if (checkFilters && filters.parts.length > 1) {
    after.add(
      `exists (select 1 from contacts c where ${filters.where}
         and c.sort_last = s.sort_last and c.id = s.contact_id)`,
      ...filters.params,
    );
  }
  const order = (t: string) => `${t}.sort_last ${direction}, ${t}.contact_id ${direction}`;
  return {
    sql: `with page as materialized (
        select p.contact_id as id, p.sort_last as k
        from unnest(${words.sql}) as t (word)
        cross join lateral (
          select s.contact_id, s.sort_last from search_postings s
          where s.tenant_id = ? and s.word = t.word ${after.parts.map((part) => `and ${part}`).join(" ")}
          order by ${order("s")} limit ?
        ) p
        group by p.sort_last, p.contact_id
        order by ${order("p")} limit ?)
      ${pageRows("page", direction)}`,
    params: [...words.params, tenantId, ...after.params, input.limit + 1, input.limit + 1, tenantId],
  };
}

/**
 * `contacts.search` as SQL: the filters, the keyset condition for the cursor, the sort with the id
 * as tie-breaker, one row more than the page (to know whether there is a next page). With `q`,
 * `freeText` holds the words of each of its terms (`freeTextQuery`). `collect` (a rare place or
 * role filter, see `collectRareMatches`) gathers the matches first, as email and free text do; a
 * one-term free-text search in the last-name order, alone or with a common place or role filter,
 * walks the postings instead (`postingWalkWords`).
 */
export function searchQuery(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
  freeText: readonly (readonly string[])[] | null = null,
  collect = false,
): SqlQuery {
  const field = input.sort?.field ?? "lastName";
  const direction = input.sort?.direction ?? "asc";
  const { expression, cast } = SORT_KEYS[field];
  const place = taxIdIndex ? null : lonePlaceKey(input);
  if (place && input.q === undefined) return postingWalkQuery(tenantId, input, place, false);
  if (place && !collect) {
    const words = postingWalkWords(input, freeText);
    if (words && words.length <= POSTING_MERGE_MAX_WORDS)
      return postingMergeQuery(tenantId, input, words, place);
  }
  const walk = taxIdIndex || collect ? null : postingWalkWords(input, freeText);
  if (walk) return postingWalkQuery(tenantId, input, { sql: "?::text[]", params: [arrayLiteral(walk)] });
  const c = searchConditions(tenantId, input, taxIdIndex);
  const m = candidateConditions(tenantId, input, freeText);
  if (m) c.add(m.where, ...m.params);
  afterCursor(c, tenantId, input, `${expression}, c.id`, cast);
  if (m || collect) {
    return {
      sql: `with matches as materialized (select c.id, ${expression} as k from contacts c where ${c.where})
        ${pageRows(`(select id, k from matches order by k ${direction}, id ${direction} limit ?)`, direction)}`,
      params: [...c.params, input.limit + 1, tenantId],
    };
  }
  const order = `${expression} ${direction}, c.id ${direction}`;
  // The page first (ids and sort keys, from an index alone when it carries the filters: see
  // migration 12), then its rows: walking past non-matching contacts reads index entries, not rows.
  return {
    sql: `with page as materialized (select c.id, ${expression} as k from contacts c where ${c.where} order by ${order} limit ?)
      ${pageRows("page", direction)}`,
    params: [...c.params, input.limit + 1, tenantId],
  };
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

/** `contacts.list`: one account's contacts in number order, with the Rackspace filters. */
export function listQuery(tenantId: string, input: ContactListInput): SqlQuery {
  const c = new Conditions();
  c.add("c.tenant_id = ?", tenantId);
  // The account by id, or by its type + key (a subquery: the list reads no other table first).
  if (input.account) {
    c.add(
      "c.account_id = (select a.id from accounts a where a.tenant_id = ? and a.type = ? and a.key = ?)",
      tenantId,
      input.account.type,
      input.account.key,
    );
  } else c.add("c.account_id = ?", input.accountId ?? null);
  if (input.role) c.add("c.roles @> array[?]::text[]", input.role);
  if (input.username) c.add("lower(c.username) = lower(?)", input.username);
  if (input.emailAddress) c.add("c.email_keys @> jsonb_build_array(lower(?::text))", input.emailAddress);
  if (input.cursor)
    c.add("c.number > ?", decodeCursor(input.cursor, `contacts.list:${tenantId}`, isNumberCursor).n);
  return {
    sql: `select ${PAGE_COLUMNS} from contacts c where ${c.where} order by c.number limit ?`,
    params: [...c.params, input.limit + 1],
  };
}

/**
 * `contacts.descendants`: contacts of an account and of every account below it, to any depth
 * (a recursive query over the parent links; `union` stops at a cycle), in number order.
 */
export function descendantsQuery(tenantId: string, input: ContactDescendantsInput): SqlQuery {
  const after = input.cursor
    ? decodeCursor(input.cursor, `contacts.descendants:${tenantId}`, isNumberCursor).n
    : 0;
  return {
    sql: `with recursive tree(id) as (
        select a.id from accounts a where a.tenant_id = ? and a.id = ?
        union
        select child.id from accounts child join tree on child.parent_id = tree.id where child.tenant_id = ?
      )
      select ${PAGE_COLUMNS} from contacts c
      where c.tenant_id = ? and c.account_id in (select id from tree) and c.number > ?
      order by c.number limit ?`,
    params: [tenantId, input.accountId, tenantId, tenantId, after, input.limit + 1],
  };
}

/** The cursor after a row of a number-ordered list (`list`: "list" or "descendants"). */
export const numberCursor =
  (tenantId: string, list: "list" | "descendants") =>
  (last: { number: number | string }): string =>
    encodeCursor({ n: Number(last.number) }, `contacts.${list}:${tenantId}`);

/** `?` placeholders as `$1, $2, ...` for `pg` (the queries above use no `?` operator). */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${String(++n)}`);
}
