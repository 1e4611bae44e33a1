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

/**
 * The environment variables the database package, the keyring and the start-up checks read (the apps
 * add their own). Apps log which of them are set, by name only.
 */
export const DB_ENV_NAMES = [
  "DATABASE_URL",
  "DATABASE_APP_URL",
  "CONTACTS_DATA_DIR",
  "DEBUG_SQL",
  "TAX_ID_KEYS",
  "TAX_ID_CURRENT_KEY",
  "TAX_ID_INDEX_KEY",
  "ALLOW_DEVELOPMENT_TAX_ID_KEYS",
  "NODE_ENV",
] as const;

/** Which of `names` are set (non-empty) in `env`: names only, never values. */
export function configuredNames(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  return names.filter((name) => Boolean(env[name]?.trim()));
}
