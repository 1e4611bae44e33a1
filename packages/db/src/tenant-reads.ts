import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";

/**
 * Runs read-only SQL for one tenant: `execute(sql, params)` answers the rows, like
 * `EntityManager.execute`. A reader over the ORM's transaction and a reader over the pool (below)
 * are interchangeable, so a read is written once.
 */
export interface SqlReader {
  execute<T = Record<string, unknown>[]>(sql: string, params?: readonly unknown[]): Promise<T>;
}

/** The part of a pg client this needs: a simple query of several statements answers one result each. */
interface PooledClient {
  query(text: string): Promise<{ rows: unknown[] } | { rows: unknown[] }[]>;
}

/**
 * Reads for one tenant straight on a pooled connection of the ORM, without a unit of work: each
 * `execute` sends `select set_config('app.tenant_id', <tenant>, true); <sql>` as one simple-query
 * message. PostgreSQL runs the statements of one such message in one implicit transaction, so the
 * tenant binding (read by the row-level security policies, forced for the application role) holds
 * for exactly that query, and is gone when it ends: one socket write and one round trip, where a
 * transaction through the ORM costs four (`begin`, `set_config`, the query, `commit`).
 *
 * Parameters are inlined by MikroORM's own `formatQuery` (the ORM sends every statement that way), and
 * errors are converted by its exception converter, so callers see what the ORM path would throw.
 * Connections come from and return to the ORM's pool (its size, its session settings such as
 * `statement_timeout`). Only for reads: a write needs the ORM's transaction.
 */
export class TenantReads {
  /** The pool of the ORM's knex client (tarn), handing out its pg clients. */
  private readonly pool: {
    acquireConnection(): Promise<PooledClient>;
    releaseConnection(connection: PooledClient): Promise<void>;
  };

  constructor(private readonly orm: MikroORM) {
    this.pool = orm.em.getConnection().getKnex().client as TenantReads["pool"];
  }

  /** A reader bound to `tenantId` (inlined as a quoted literal, like every parameter). */
  for(tenantId: string): SqlReader {
    const platform = this.orm.em.getPlatform();
    const bind = platform.formatQuery("select set_config('app.tenant_id', ?, true);\n", [tenantId]);
    return {
      execute: async <T>(sql: string, params: readonly unknown[] = []): Promise<T> => {
        const text = bind + platform.formatQuery(sql, params);
        const connection = await this.pool.acquireConnection();
        try {
          const results = await connection.query(text);
          const last = Array.isArray(results) ? results.at(-1) : results;
          return (last?.rows ?? []) as T;
        } catch (error) {
          throw platform.getExceptionConverter().convertException(error as Error);
        } finally {
          await this.pool.releaseConnection(connection);
        }
      },
    };
  }
}

/** The reader over a transaction already bound to its tenant (the ORM path). */
export function transactionReader(tx: EntityManager): SqlReader {
  return {
    execute: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await tx.execute(sql, [...params])) as T,
  };
}
