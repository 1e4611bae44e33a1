import { z } from "zod";
import { DB_ENV_NAMES, configuredNames, dbEnv } from "@contacts/db/env";
import { developmentKeyringRefusal, loadTaxIdKeyring } from "@contacts/db/crypto/keyring";

const Env = z.object({
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * Records per import chunk: one transaction, one checkpoint. 1,000 measured faster than 5,000 (the
   * first chunk reaches the database sooner) and keeps the worker's memory lower (fewer records in flight).
   */
  IMPORT_CHUNK_RECORDS: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /**
   * A chunk also ends once its records hold this many characters, so a file of wide records (long
   * notes, many columns) makes smaller chunks and the worker's memory stays bounded.
   */
  IMPORT_CHUNK_CHARS: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 2 ** 20),
  /**
   * Parse threads per import: each reads the whole file and validates every n-th batch, so
   * validation (the bound of a re-import) uses the cores PostgreSQL leaves free.
   */
  IMPORT_PARSE_THREADS: z.coerce.number().int().min(1).max(16).default(1),
  /** How often queued or stalled imports are looked for and queued again, in seconds. */
  IMPORT_RESCAN_SECONDS: z.coerce.number().min(0.1).default(30),
  /** A running import with no progress for this long is taken to have lost its worker, in seconds. */
  IMPORT_STALE_SECONDS: z.coerce.number().min(0.1).default(120),
});

/** Which documented variables are set (names only): logged at start. */
export const configuredVariables = configuredNames([...DB_ENV_NAMES, ...Object.keys(Env.shape)]);

/** The worker's settings, read from the environment once, here and nowhere else. */
export const env = Env.parse(process.env);

/** The tax-ID keyring, loaded as the API loads it (TAX_ID_KEYS & co., else the data folder's development keys). */
export function loadKeyring(): ReturnType<typeof loadTaxIdKeyring> {
  return loadTaxIdKeyring({ env: process.env, dataDir: dbEnv.dataDir });
}

/** Why this process must not start on the development tax-ID keys here, or null (see the keyring). */
export function keyringRefusal(): string | null {
  return developmentKeyringRefusal(process.env);
}

/** The log level of the workers the tests start (`TEST_LOG`, default silent: tests print no logs). */
export function testLogLevel(): string {
  return process.env.TEST_LOG ?? "silent";
}
