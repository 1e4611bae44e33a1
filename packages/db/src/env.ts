import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: three levels above this file, from src/ or dist/ alike. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Database settings, read once from the environment (an empty value counts as unset). */
export const dbEnv = {
  /** A PostgreSQL URL; when unset an embedded server is started. */
  databaseUrl: process.env.DATABASE_URL?.trim() || null,
  /**
   * Optional login for the application role (it is made a member of `contacts_app`). When unset the
   * project gives `contacts_app` itself a login with a password derived from DATABASE_URL's.
   */
  databaseAppUrl: process.env.DATABASE_APP_URL?.trim() || null,
  /** Where the embedded server keeps its data (git-ignored). */
  dataDir: path.resolve(process.env.CONTACTS_DATA_DIR?.trim() || path.join(repoRoot, ".data")),
  /** Log every SQL statement (development only). */
  debugSql: process.env.DEBUG_SQL === "1",
} as const;
