import { pino } from "pino";
import type { Logger } from "pino";

/**
 * Paths pino blanks out wherever they appear, as a second line of defence: the code never logs
 * request bodies or contact documents, and these catch a mistake.
 */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "key",
  "*.key",
  "taxIdCiphertext",
  "*.taxIdCiphertext",
  "taxId",
  "*.taxId",
  "emails",
  "*.emails",
  "phones",
  "*.phones",
  "addresses",
  "*.addresses",
  "contact",
  "*.contact",
  "input",
  "*.input",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: "contacts-api" }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    destination,
  );
}

export type { Logger };
