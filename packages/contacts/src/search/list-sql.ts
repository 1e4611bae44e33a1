import type { ContactDescendantsInput, ContactListInput } from "@contacts/domain/search";

import { PAGE_COLUMNS } from "../contact-row.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { join, raw, sql } from "./sql.js";
import type { Sql } from "./sql.js";

/** Position after the last row of a number-ordered list. */
interface NumberCursor extends Record<string, number> {
  n: number;
}

function isNumberCursor(value: Record<string, unknown>): value is NumberCursor {
  return Number.isSafeInteger(value.n) && (value.n as number) >= 0;
}

/** `contacts.list`: one account's contacts in number order, with the Rackspace filters. */
export function listSql(tenantId: string, input: ContactListInput): Sql {
  const c: Sql[] = [sql`c.tenant_id = ${tenantId}`];
  // The account by id, or by its type + key (a subquery: the list reads no other table first).
  if (input.account) {
    c.push(
      sql`c.account_id = (select a.id from accounts a where a.tenant_id = ${tenantId} and a.type = ${input.account.type} and a.key = ${input.account.key})`,
    );
  } else c.push(sql`c.account_id = ${input.accountId ?? null}`);
  if (input.role) c.push(sql`c.roles @> array[${input.role}]::text[]`);
  if (input.username) c.push(sql`lower(c.username) = lower(${input.username})`);
  if (input.emailAddress) c.push(sql`c.email_keys @> jsonb_build_array(lower(${input.emailAddress}::text))`);
  if (input.cursor)
    c.push(sql`c.number > ${decodeCursor(input.cursor, `contacts.list:${tenantId}`, isNumberCursor).n}`);
  return sql`select ${raw(PAGE_COLUMNS)} from contacts c where ${join(c, " and ")} order by c.number limit ${input.limit + 1}`;
}

/**
 * `contacts.descendants`: contacts of an account and of every account below it, to any depth
 * (a recursive query over the parent links; `union` stops at a cycle), in number order.
 */
export function descendantsSql(tenantId: string, input: ContactDescendantsInput): Sql {
  const after = input.cursor
    ? decodeCursor(input.cursor, `contacts.descendants:${tenantId}`, isNumberCursor).n
    : 0;
  return sql`with recursive tree(id) as (
        select a.id from accounts a where a.tenant_id = ${tenantId} and a.id = ${input.accountId}
        union
        select child.id from accounts child join tree on child.parent_id = tree.id where child.tenant_id = ${tenantId}
      )
      select ${raw(PAGE_COLUMNS)} from contacts c
      where c.tenant_id = ${tenantId} and c.account_id in (select id from tree) and c.number > ${after}
      order by c.number limit ${input.limit + 1}`;
}

/** The cursor after a row of a number-ordered list (`list`: "list" or "descendants"). */
export const numberCursor =
  (tenantId: string, list: "list" | "descendants") =>
  (last: { number: number | string }): string =>
    encodeCursor({ n: Number(last.number) }, `contacts.${list}:${tenantId}`);
