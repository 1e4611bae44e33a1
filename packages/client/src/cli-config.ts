/** The CLI's settings from the environment, read here and nowhere else (flags override them). */
export const cliEnv = {
  /** Base URL of the contacts API, e.g. `http://127.0.0.1:3000`. */
  url: process.env.CONTACTS_URL?.trim() || null,
  /** A tenant API key (`ck_...`) or service token. */
  apiKey: process.env.CONTACTS_API_KEY?.trim() || null,
} as const;
