import os from "node:os";

import { z } from "zod";
import { DB_ENV_NAMES, configuredNames, dbEnv } from "@contacts/db/env";
import { developmentKeyringRefusal, loadTaxIdKeyring } from "@contacts/db/crypto/keyring";
import { DEFAULT_EVENT_RETENTION_DAYS } from "@contacts/db/event-retention";

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("127.0.0.1"),
  /** API processes `npm start` runs, sharing the port (default: one per core). */
  API_PROCESSES: z.coerce.number().int().min(1).max(256).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Largest accepted request body, in bytes. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  /** A statement of a request that runs, or waits for a lock, longer than this is cancelled (503 `timeout`). */
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Most calls one tRPC batch may carry. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(50),
  /** Public URL printed at start (defaults to http://HOST:PORT). */
  PUBLIC_URL: z.url().optional(),
  /** Service tokens: HS256 secret (at least 32 bytes), or a JWKS file of the issuer's public keys. */
  AUTH_SERVICE_JWT_SECRET: z.string().min(32).optional(),
  AUTH_SERVICE_JWKS_FILE: z.string().min(1).optional(),
  AUTH_SERVICE_JWT_ISSUER: z.string().min(1).optional(),
  /** User ID tokens (portal users): their own issuer's secret or JWKS, never the service one. */
  AUTH_USER_JWT_SECRET: z.string().min(32).optional(),
  AUTH_USER_JWKS_FILE: z.string().min(1).optional(),
  AUTH_USER_JWT_ISSUER: z.string().min(1).optional(),
  /** Required `aud` of every token. */
  AUTH_JWT_AUDIENCE: z.string().min(1).default("contacts-api"),
  /** Create the `demo` tenant and print a development key at start (default: only on the embedded database). */
  CONTACTS_DEMO: z.enum(["0", "1"]).optional(),
  /** Change events older than this are deleted (hourly); a feed cursor from before them must resync. */
  CONTACT_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).default(DEFAULT_EVENT_RETENTION_DAYS),
  /** Largest CSV file an import accepts (413 past it, nothing stored). */
  IMPORT_MAX_FILE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(200 * 1024 * 1024),
  /** Largest field of an imported record, in bytes (the worker rejects the file past it). */
  IMPORT_MAX_FIELD_BYTES: z.coerce.number().int().min(16).default(10_000),
  /** Most columns an imported file may have. */
  IMPORT_MAX_COLUMNS: z.coerce.number().int().min(1).default(100),
  /** Most data records an imported file may have. */
  IMPORT_MAX_RECORDS: z.coerce.number().int().min(1).default(2_000_000),
  /** CSV uploads streaming into one API process at once, every tenant together (default: half the pool). */
  IMPORT_UPLOADS_AT_ONCE: z.coerce.number().int().min(1).optional(),
  /** An upload that sends no byte for this many seconds is 408 and stores nothing. */
  IMPORT_UPLOAD_IDLE_SECONDS: z.coerce.number().int().min(1).default(30),
  /** An upload still arriving after this many seconds is 408 and stores nothing. */
  IMPORT_UPLOAD_MAX_SECONDS: z.coerce.number().int().min(1).default(900),
});

/** Which documented variables are set (names only): logged at start. */
export const configuredVariables = configuredNames([...DB_ENV_NAMES, ...Object.keys(Env.shape)]);

/** The API's settings, read from the environment once, here and nowhere else. */
export const env = Env.parse(process.env);

/** How many API processes serve together: API_PROCESSES, else one per core. */
export const apiProcesses = env.API_PROCESSES ?? os.availableParallelism();

/** Token verification settings from the environment. */
export const tokenConfig = {
  service: {
    secret: env.AUTH_SERVICE_JWT_SECRET,
    jwksFile: env.AUTH_SERVICE_JWKS_FILE,
    issuer: env.AUTH_SERVICE_JWT_ISSUER,
    audience: env.AUTH_JWT_AUDIENCE,
  },
  user: {
    secret: env.AUTH_USER_JWT_SECRET,
    jwksFile: env.AUTH_USER_JWKS_FILE,
    issuer: env.AUTH_USER_JWT_ISSUER,
    audience: env.AUTH_JWT_AUDIENCE,
  },
};
export type ApiEnv = z.infer<typeof Env>;

/** The limits new imports are created with (snapshotted into each import). */
export const importLimits = {
  maxFileBytes: env.IMPORT_MAX_FILE_BYTES,
  maxFieldBytes: env.IMPORT_MAX_FIELD_BYTES,
  maxColumns: env.IMPORT_MAX_COLUMNS,
  maxRecords: env.IMPORT_MAX_RECORDS,
};

/** The bounds of uploads in flight (the default count at once is set from the pool by the server). */
export const uploadLimits = {
  ...(env.IMPORT_UPLOADS_AT_ONCE ? { atOnce: env.IMPORT_UPLOADS_AT_ONCE } : {}),
  idleSeconds: env.IMPORT_UPLOAD_IDLE_SECONDS,
  maxSeconds: env.IMPORT_UPLOAD_MAX_SECONDS,
};

/** The tax-ID keyring: TAX_ID_KEYS & co. from the environment, else the data folder's development keys. */
export function loadKeyring(): ReturnType<typeof loadTaxIdKeyring> {
  return loadTaxIdKeyring({ env: process.env, dataDir: dbEnv.dataDir });
}

/** Why this process must not start on the development tax-ID keys here, or null (see the keyring). */
export function keyringRefusal(): string | null {
  return developmentKeyringRefusal(process.env);
}
