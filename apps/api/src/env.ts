import { z } from "zod";

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Largest accepted request body, in bytes. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  /** Most calls one tRPC batch may carry. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(50),
  /** Public URL printed at start (defaults to http://HOST:PORT). */
  PUBLIC_URL: z.url().optional(),
  /** HS256 secret for service and user tokens (at least 32 bytes). */
  AUTH_JWT_SECRET: z.string().min(32).optional(),
  /** Path of a JWKS file with the token issuers' public keys (instead of a shared secret). */
  AUTH_JWKS_FILE: z.string().min(1).optional(),
  /** Required `iss` of tokens, when set. */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  /** Required `aud` of tokens. */
  AUTH_JWT_AUDIENCE: z.string().min(1).default("contacts-api"),
  /** Create the `demo` tenant and print a development key at start (default: only on the embedded database). */
  CONTACTS_DEMO: z.enum(["0", "1"]).optional(),
});

/** The API's settings, read from the environment once, here and nowhere else. */
export const env = Env.parse(process.env);

/** Token verification settings from the environment. */
export const jwtConfig = {
  secret: env.AUTH_JWT_SECRET,
  jwksFile: env.AUTH_JWKS_FILE,
  issuer: env.AUTH_JWT_ISSUER,
  audience: env.AUTH_JWT_AUDIENCE,
};
export type ApiEnv = z.infer<typeof Env>;
