import type { EntityManager } from "@mikro-orm/postgresql";
import type pg from "pg";

/**
 * Contact numbers and the tenant's contact limit. The writer's INSERT takes the numbers itself
 * (`take_contact_numbers` in the same statement); this module reads the count and gives the
 * writer its SQL runners. The database side is migration 22: a sequence per tenant, the
 * count kept as deltas in `tenant_contact_counts`, and `take_contact_numbers`, which grants what
 * the limit leaves and hands out the numbers. Nothing here touches the tenant row, so writers of
 * one tenant do not wait for one another's commits:
 *
 * - a number is taken from the tenant's sequence, which is not transactional: unique, in the
 *   order taken across every connection and process, and lost (a gap) when its transaction rolls
 *   back or the row is not inserted after all;
 * - a tenant with a contact limit is counted under a transaction-scoped advisory lock on the
 *   tenant, so of two concurrent writers the second counts what the first committed: the limit
 *   is exact, and only such tenants pay for it (their writers of new contacts are ordered from
 *   the count to their commit).
 */

/** Runs one SQL statement with `?` placeholders and answers its rows. */
export interface SqlRunner {
  rows<T extends object>(sql: string, params: readonly unknown[]): Promise<T[]>;
}

/** A runner on a MikroORM entity manager (inside its transaction when it is one). */
export function ormRunner(em: EntityManager): SqlRunner {
  return {
    rows: <T extends object>(sql: string, params: readonly unknown[]) => em.execute<T[]>(sql, [...params]),
  };
}

/** A runner on a `pg` client (the worker's): `?` becomes `$1`, `$2`, ... */
export function pgRunner(client: pg.ClientBase): SqlRunner {
  return {
    rows: async <T extends object>(sql: string, params: readonly unknown[]) => {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${String(++n)}`);
      return (await client.query(text, [...params])).rows as T[];
    },
  };
}

/** The tenant's contact count and limit as committed, without locks (a dry run, statistics). */
export async function contactHeadroom(
  sql: SqlRunner,
  tenantId: string,
): Promise<{ count: number; limit: number | null }> {
  const [row] = await sql.rows<{ count: string; contact_limit: string | null }>(
    `select tenant_contact_count(t.id) as count, (t.settings -> 'limits' ->> 'contacts')::bigint as contact_limit
       from tenants t where t.id = ?`,
    [tenantId],
  );
  return {
    count: Number(row?.count ?? 0),
    limit: row?.contact_limit == null ? null : Number(row.contact_limit),
  };
}
