import pg from "pg";

/** What `take_request_tokens` (migration 26) granted, and what is left in the tenant's bucket. */
export interface RequestTokenGrant {
  granted: number;
  tokens: number;
}

/**
 * The tenants' shared request buckets (migration 26), on a connection of its own (one per process,
 * never one of the request pool: a call waiting for tokens holds a pooled connection already).
 */
export class RequestTokenStore {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 1, application_name: "contacts-rate-limit" });
    // A dropped idle connection is replaced on the next query; the pool must not crash the process.
    this.pool.on("error", () => undefined);
  }

  /**
   * Refills the tenant's bucket and takes up to `wanted` tokens, in one statement: it binds its own
   * transaction to the tenant first (the function checks `app.tenant_id`).
   */
  async take(tenantId: string, perMinute: number, wanted: number): Promise<RequestTokenGrant> {
    const { rows } = await this.pool.query<{ granted: number; tokens: number }>(
      `select g.granted, g.tokens
         from (select set_config('app.tenant_id', $1, true) as tenant) bound
        cross join lateral take_request_tokens(bound.tenant, $2, $3) g`,
      [tenantId, perMinute, wanted],
    );
    const row = rows[0];
    if (!row) throw new Error("take_request_tokens returned no row");
    return { granted: row.granted, tokens: row.tokens };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** `show max_connections` of the server at `url`. */
export async function maxConnectionsOf(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ max_connections: string }>("show max_connections");
    return Number(rows[0]?.max_connections);
  } finally {
    await client.end();
  }
}
