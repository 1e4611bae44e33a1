import type {
  ContactDescendantsInput,
  ContactListInput,
  ContactSearchInput,
  SortField,
} from "@contacts/domain/search";

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
function arrayLiteral(values: readonly (string | number)[]): string {
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
 * The filters whose matches are found through a GIN index (an email, free text). PostgreSQL has no
 * statistics for these, guesses a thousand matches, and would rather walk the sort index hoping to
 * meet 50 of them early: a rare email then costs a walk through the whole tenant (measured: 7 s at
 * 1M). They are evaluated first, as a materialized set of candidate ids.
 */
function candidateConditions(tenantId: string, input: ContactSearchInput): Conditions | null {
  if (!input.emailAddress && !input.q) return null;
  const m = new Conditions();
  m.add("m.tenant_id = ?", tenantId);
  if (input.emailAddress) m.add("m.email_keys @> jsonb_build_array(lower(?::text))", input.emailAddress);
  // Word similarity (pg_trgm): finds a word starting with, or one typo away from, what was typed.
  if (input.q) m.add("lower(?::text) <% m.search_text", input.q);
  return m;
}

/**
 * `contacts.search` as SQL: the filters, the keyset condition for the cursor, the sort with the id
 * as tie-breaker, one row more than the page (to know whether there is a next page).
 */
export function searchQuery(
  tenantId: string,
  input: ContactSearchInput,
  taxIdIndex: string | null,
): SqlQuery {
  const field = input.sort?.field ?? "lastName";
  const direction = input.sort?.direction ?? "asc";
  const { expression, cast } = SORT_KEYS[field];
  const signature = `${field}:${direction}`;
  const c = searchConditions(tenantId, input, taxIdIndex);
  const m = candidateConditions(tenantId, input);
  if (m) c.add("c.id in (select id from candidates)");
  if (input.cursor) {
    const cursor = decodeCursor(input.cursor, isSortCursor);
    if (cursor.s !== signature) throw invalidCursor();
    c.add(
      `(${expression}, c.id) ${direction === "asc" ? ">" : "<"} (?::${cast}, ?::uuid)`,
      cursor.k,
      cursor.i,
    );
  }
  const order = `${expression} ${direction}, c.id ${direction}`;
  const candidates = m
    ? `with candidates as materialized (select m.id from contacts m where ${m.where}) `
    : "";
  return {
    sql: `${candidates}select c.*, ${expression}::text as sort_key from contacts c where ${c.where} order by ${order} limit ?`,
    params: [...(m?.params ?? []), ...c.params, input.limit + 1],
  };
}

/** The cursor after `last` in a search (its sort key as the database printed it, and its id). */
export function searchCursor(input: ContactSearchInput, last: { sort_key?: string; id: string }): string {
  const signature = `${input.sort?.field ?? "lastName"}:${input.sort?.direction ?? "asc"}`;
  return encodeCursor({ k: last.sort_key ?? "", i: last.id, s: signature });
}

/** `contacts.list`: one account's contacts in number order, with the Rackspace filters. */
export function listQuery(tenantId: string, input: ContactListInput): SqlQuery {
  const c = new Conditions();
  c.add("c.tenant_id = ?", tenantId);
  c.add("c.account_id = ?", input.accountId);
  if (input.role) c.add("c.roles @> array[?]::text[]", input.role);
  if (input.username) c.add("lower(c.username) = lower(?)", input.username);
  if (input.emailAddress) c.add("c.email_keys @> jsonb_build_array(lower(?::text))", input.emailAddress);
  if (input.cursor) c.add("c.number > ?", decodeCursor(input.cursor, isNumberCursor).n);
  return {
    sql: `select c.* from contacts c where ${c.where} order by c.number limit ?`,
    params: [...c.params, input.limit + 1],
  };
}

/**
 * `contacts.descendants`: contacts of an account and of every account below it, to any depth
 * (a recursive query over the parent links; `union` stops at a cycle), in number order.
 */
export function descendantsQuery(tenantId: string, input: ContactDescendantsInput): SqlQuery {
  const after = input.cursor ? decodeCursor(input.cursor, isNumberCursor).n : 0;
  return {
    sql: `with recursive tree(id) as (
        select a.id from accounts a where a.tenant_id = ? and a.id = ?
        union
        select child.id from accounts child join tree on child.parent_id = tree.id where child.tenant_id = ?
      )
      select c.* from contacts c
      where c.tenant_id = ? and c.account_id in (select id from tree) and c.number > ?
      order by c.number limit ?`,
    params: [tenantId, input.accountId, tenantId, tenantId, after, input.limit + 1],
  };
}

/** The cursor after a row of a number-ordered list. */
export function numberCursor(last: { number: number | string }): string {
  return encodeCursor({ n: Number(last.number) });
}

/** `?` placeholders as `$1, $2, ...` for `pg` (the queries above use no `?` operator). */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${String(++n)}`);
}
