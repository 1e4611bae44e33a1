import sql, { empty, join, raw, Sql } from "sql-template-tag";

/**
 * SQL of the search index, written with the `sql` tag of `sql-template-tag`: a `${value}` binds a
 * parameter exactly where it stands, and a nested `sql` fragment (or `join` of fragments) brings
 * its own parameters along in place, so no list of parameters is kept in step with the text by
 * hand. `raw` is only for text the code owns (a sort column, a direction), never for a value.
 *
 * A query renders either way at the boundary: `query.sql` and `query.values` (`?` placeholders)
 * for MikroORM's `em.execute`, `query.text` and `query.values` (`$1, $2, ...`) for `pg`.
 */
export { empty, join, raw, sql, Sql };

/**
 * A list as a PostgreSQL array literal (`{"a","b"}`), passed as one text parameter: query builders
 * expand a bound JS array into a list of parameters, which `= any(?::uuid[])` cannot take.
 */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(",")}}`;
}

/** `?` placeholders and their values, as MikroORM's `em.execute(sql, params)` takes them. */
export interface SqlQuery {
  sql: string;
  params: unknown[];
}

/** A tagged query in the ORM's shape. */
export function ormQuery(query: Sql): SqlQuery {
  return { sql: query.sql, params: query.values };
}
