import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { TRPCClient, TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";
import type { AppRouter } from "@contacts/api/router";

import { toContactsApiError } from "./errors.js";
import { fetchWithRetry } from "./retry.js";
import type { RetryOptions } from "./retry.js";

export interface ContactsClientOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:3000` (the client adds `/trpc`). */
  url: string;
  /** A tenant API key or service token, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Retry policy for 429 and 503 answers. */
  retry?: RetryOptions;
  /** Most calls sent in one batch; keep at or below the server's MAX_BATCH_SIZE (default 50). */
  maxBatchSize?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** Rethrows every failure as a ContactsApiError, so callers read `error.errors[]` uniformly. */
function contactsErrorLink(): TRPCLink<AppRouter> {
  return () =>
    ({ next, op }) =>
      observable((observer) =>
        next(op).subscribe({
          next: (value) => observer.next(value),
          error: (error) => observer.error(toContactsApiError(error)),
          complete: () => observer.complete(),
        }),
      );
}

/**
 * The typed client of the contacts API.
 *
 * ```ts
 * const contacts = createContactsClient({ url: "http://127.0.0.1:3000", apiKey });
 * const ada = await contacts.contacts.create.mutate({ contact: { subtype: "person", firstName: "Ada", lastName: "Lovelace" } });
 * ```
 *
 * Every call rejects with a ContactsApiError carrying `status`, `code` and `errors[]`.
 */
export function createContactsClient(options: ContactsClientOptions): ContactsClient {
  const url = `${options.url.replace(/\/+$/, "")}/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      contactsErrorLink(),
      httpBatchLink({
        url,
        maxItems: options.maxBatchSize ?? 50,
        fetch: fetchWithRetry(options.retry, options.fetch ?? fetch),
        headers: () => ({ ...options.headers, authorization: `Bearer ${options.apiKey}` }),
      }),
    ],
  });
}

export type ContactsClient = TRPCClient<AppRouter>;
export type { AppRouter };
export { ContactsApiError } from "./errors.js";
export { iterate, pages } from "./paginate.js";
