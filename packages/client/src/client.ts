import { createTRPCClient, httpBatchLink, httpLink, splitLink } from "@trpc/client";
import type { TRPCClient, TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";
import type { AppRouter } from "@contacts/api/router";

import { sameTickBatchLink } from "./batch-link.js";
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

declare module "@trpc/client" {
  interface OperationContext {
    /**
     * Sent as `Idempotency-Key` on a mutation (alone, never batched): the server stores the first
     * result for 24 hours and answers a retry with the same key and input with it, without running
     * the mutation again. Use a new random key (`crypto.randomUUID()`) per intended change, and the
     * same one for its retries.
     */
    idempotencyKey?: string;
  }
}

/**
 * Longest URL-encoded query input sent in a GET URL. A longer one (a search by 1,000 ids is about
 * 40 KB) is sent as POST: the server refuses a request line and headers over 16 KB with 431.
 */
const MAX_GET_INPUT_CHARS = 4096;

function tooLongForUrl(input: unknown): boolean {
  const json = JSON.stringify(input ?? null);
  // Cheap bound first: URL encoding at most triples an ASCII character (and a non-ASCII one's bytes).
  if (json.length * 9 <= MAX_GET_INPUT_CHARS) return false;
  return encodeURIComponent(json).length > MAX_GET_INPUT_CHARS;
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
 * Every call rejects with a ContactsApiError carrying `status`, `code` and `errors[]`. A mutation
 * retried safely carries an idempotency key:
 *
 * ```ts
 * const key = crypto.randomUUID();
 * await contacts.contacts.create.mutate(input, { context: { idempotencyKey: key } });
 * ```
 *
 * Calls started in the same tick are sent as one batch (up to `maxBatchSize`); a call made alone
 * is sent as a plain request, without waiting for others to join it.
 */
export function createContactsClient(options: ContactsClientOptions): ContactsClient {
  const http = {
    url: `${options.url.replace(/\/+$/, "")}/trpc`,
    fetch: fetchWithRetry(options.retry, options.fetch ?? fetch),
    headers: () => ({ ...options.headers, authorization: `Bearer ${options.apiKey}` }),
  };
  return createTRPCClient<AppRouter>({
    links: [
      contactsErrorLink(),
      splitLink({
        // One header per request: a keyed mutation is sent alone.
        condition: (op) => op.type === "mutation" && op.context.idempotencyKey !== undefined,
        true: httpLink({
          ...http,
          headers: ({ op }) => ({ ...http.headers(), "idempotency-key": op.context.idempotencyKey ?? "" }),
        }),
        false: splitLink({
          // A query too long for a URL is sent alone as POST (the server allows the override).
          condition: (op) => op.type === "query" && tooLongForUrl(op.input),
          true: httpLink({ ...http, methodOverride: "POST" }),
          false: sameTickBatchLink({
            alone: httpLink(http),
            batched: httpBatchLink({
              ...http,
              maxItems: options.maxBatchSize ?? 50,
              maxURLLength: 4 * MAX_GET_INPUT_CHARS,
            }),
          }),
        }),
      }),
    ],
  });
}

export type ContactsClient = TRPCClient<AppRouter>;
export type { AppRouter };
export { ContactsApiError } from "./errors.js";
export { iterate, pages } from "./paginate.js";
