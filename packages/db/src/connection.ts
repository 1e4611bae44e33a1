import pg from "pg";

/** Replaces the database name of a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates the database named in `url` on its server if it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: withDatabase(url, "postgres") });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) {
      // Another process (API and worker start together) may create it at the same moment.
      await client.query(`create database ${pg.escapeIdentifier(name)}`).catch((error: unknown) => {
        const code = (error as { code?: string }).code;
        if (code !== "42P04" && code !== "23505") throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** Runs `fn` while holding a session advisory lock on the database at `url` (serialises migrations). */
export async function withAdvisoryLock<T>(url: string, key: number, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [key]);
    return await fn();
  } finally {
    await client.query("select pg_advisory_unlock($1)", [key]).catch(() => undefined);
    await client.end();
  }
}
