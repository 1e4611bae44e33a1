import { z } from "zod";

const Env = z.object({
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** The worker's settings, read from the environment once, here and nowhere else. */
export const env = Env.parse(process.env);
