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
});

/** The API's settings, read from the environment once, here and nowhere else. */
export const env = Env.parse(process.env);
export type ApiEnv = z.infer<typeof Env>;
