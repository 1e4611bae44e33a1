import type pg from "pg";

/** Seconds of each step of a deferred-index load of one tenant's contacts (see `measureLoadFloor`). */
export interface LoadFloor {
  heapMs: number;
  indexMs: number;
  indexes: number;
  postingsMs: number;
  totalMs: number;
}

/**
 * The least a load of the tenant's contacts could cost with this schema: its rows (the generated
 * columns computed) inserted into a bare copy of the contacts table, with no index and no trigger,
 * then every index of the contacts table built over them, then their postings inserted into a bare
 * table and its key built. A fresh import would get no faster than this by deferring its index
 * maintenance (say, into a partition built aside and attached). Parsing, validation, staging and
 * the change events are not in it. The copies are dropped after.
 */
export async function measureLoadFloor(owner: pg.Pool, tenantId: string): Promise<LoadFloor> {
  const client = await owner.connect();
  const timed = async (sql: string, params: unknown[] = []): Promise<number> => {
    const started = performance.now();
    await client.query(sql, params);
    return performance.now() - started;
  };
  try {
    await client.query("drop table if exists floor_contacts, floor_postings");
    await client.query("checkpoint");
    const columns = (
      await client.query<{ name: string }>(
        `select column_name as name from information_schema.columns
          where table_name = 'contacts' and is_generated = 'NEVER' order by ordinal_position`,
      )
    ).rows
      .map((r) => r.name)
      .join(", ");
    await client.query("create table floor_contacts (like contacts including defaults including generated)");
    const heapMs = await timed(
      `insert into floor_contacts (${columns}) select ${columns} from contacts where tenant_id = $1`,
      [tenantId],
    );
    const indexes = (
      await client.query<{ name: string; definition: string }>(
        "select indexname as name, indexdef as definition from pg_indexes where tablename = 'contacts'",
      )
    ).rows;
    let indexMs = 0;
    for (const index of indexes) {
      indexMs += await timed(
        index.definition
          .replace(/ ON public\.contacts /, " ON public.floor_contacts ")
          .replace(/INDEX (\S+) ON/, "INDEX floor_$1 ON"),
      );
    }
    let postingsMs = await timed(
      `create table floor_postings as select * from search_postings where tenant_id = $1`,
      [tenantId],
    );
    postingsMs += await timed(
      "alter table floor_postings add primary key (tenant_id, word, sort_last, contact_id)",
    );
    return { heapMs, indexMs, indexes: indexes.length, postingsMs, totalMs: heapMs + indexMs + postingsMs };
  } finally {
    await client.query("drop table if exists floor_contacts, floor_postings");
    client.release();
  }
}
