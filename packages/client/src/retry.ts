import { setTimeout as sleep } from "node:timers/promises";

export interface RetryOptions {
  /** How many times a 429 or 503 answer is retried before it is returned (default 3). */
  retries?: number;
  /** First backoff in ms when the server sends no Retry-After; doubles each time (default 200). */
  baseDelayMs?: number;
  /** Longest wait between tries in ms, Retry-After included (default 30 000). */
  maxDelayMs?: number;
}

const RETRYABLE = new Set([429, 503]);

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * A fetch that retries 429 and 503 answers, waiting what `Retry-After` says when the server sends
 * it, else with exponential backoff and jitter. A 429 without `Retry-After` is a limit that waiting
 * does not lift (the tenant's contact limit): it is returned at once. Other answers, and the last
 * try, pass through.
 */
export function fetchWithRetry(options: RetryOptions = {}, baseFetch: typeof fetch = fetch): typeof fetch {
  const retries = options.retries ?? 3;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 30_000;
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const response = await baseFetch(input, init);
      if (!RETRYABLE.has(response.status) || attempt >= retries) return response;
      const asked = retryAfterMs(response.headers.get("retry-after"));
      if (response.status === 429 && asked === null) return response;
      const backoff = base * 2 ** attempt * (0.5 + Math.random() / 2);
      await response.body?.cancel();
      await sleep(Math.min(max, asked ?? backoff), undefined, { signal: init?.signal ?? undefined });
    }
  };
}
