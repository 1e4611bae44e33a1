import { dbEnv } from "./env.js";
import { migrate } from "./orm.js";
import { ensureDatabase, withAdvisoryLock, withDatabase } from "./connection.js";
import { startEmbeddedPostgres } from "./postgres.js";
import { ensureAppLogin } from "./app-role.js";

/** Advisory lock key taken while migrating, so processes starting together migrate one at a time. */
const MIGRATION_LOCK = 727_274_001;
import type { DatabaseServer } from "./postgres.js";

/** The application database, migrated and ready. */
export interface Database {
  /** The owner's URL: migrations and maintenance commands. */
  url: string;
  /** The application role's URL (row-level security applies): what the API and worker query with. */
  appUrl: string;
  /** Set when an embedded server was started (or joined) for it. */
  server: DatabaseServer | null;
}

/**
 * Finds the database the way the README says: `DATABASE_URL` when set, otherwise an embedded
 * PostgreSQL with its data under the data folder (created on first start, reused after). Either way
 * the database is created if missing and brought up to the latest migration, and the application
 * role can log in.
 *
 * `apiProcesses` sizes an embedded server's `max_connections` (see connection-budget.ts).
 */
export async function openDatabase(
  options: { migrate?: boolean; apiProcesses?: number } = {},
): Promise<Database> {
  let url: string;
  let server: DatabaseServer | null = null;
  if (dbEnv.databaseUrl) {
    url = dbEnv.databaseUrl;
  } else {
    server = await startEmbeddedPostgres(dbEnv.dataDir, { apiProcesses: options.apiProcesses });
    url = withDatabase(server.adminUrl, "contacts");
  }
  await ensureDatabase(url);
  const appUrl = await withAdvisoryLock(url, MIGRATION_LOCK, async () => {
    if (options.migrate ?? true) await migrate(url);
    return ensureAppLogin(url, dbEnv.databaseAppUrl);
  });
  return { url, appUrl, server };
}
