import type { RequestTokenGrant } from "@contacts/db/request-tokens";
import { loggableError } from "@contacts/db/loggable-error";

import type { Logger } from "../logger.js";
import { TenantRateLimiter } from "./rate-limiter.js";
import type { RateDecision, RequestRateLimiter } from "./rate-limiter.js";

/** Where the shared buckets live (RequestTokenStore: migration 26's `take_request_tokens`). */
export interface RequestTokenSource {
  take(tenantId: string, perMinute: number, wanted: number): Promise<RequestTokenGrant>;
}

interface Lease {
  /** Tokens taken from the shared bucket and not spent yet. */
  tokens: number;
  /** The limit the tokens were taken under (a changed limit starts a new lease). */
  perMinute: number;
  /** The request for more tokens in flight: others wait for it instead of asking too. */
  fetching: Promise<void> | null;
  /** The bucket was short: until then the answer is 429 without asking again. */
  askAgainAt: number;
}

/** Most tokens one process takes from a tenant's bucket at once. */
const MAX_LEASE = 50;

/**
 * The tenant's request budget as one bucket across every API process (PostgreSQL's, migration 26:
 * the same bucket as TenantRateLimiter's, refilled continuously at `perMinute / 60` a second). A
 * process takes tokens in small leases, `leaseSize` at a time, and spends them locally, so most
 * calls are answered without a round trip. Tokens leased and not spent yet are the most a tenant
 * can get beyond the single bucket's answer: at most `processes x leaseSize` calls.
 *
 * Once the bucket is short, a process answers 429 without asking again until the bucket holds what
 * the call misses. Should PostgreSQL not answer, each process falls back to its own share of the
 * limit (`perMinute / processes`, in memory) and logs a warning.
 */
export class SharedRateLimiter implements RequestRateLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly fallback: TenantRateLimiter;
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly source: RequestTokenSource,
    private readonly processes: number,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.fallback = new TenantRateLimiter(now);
  }

  /** Tokens a process takes from the shared bucket at once: a second's share, 1 to 50. */
  static leaseSize(perMinute: number, processes: number): number {
    return Math.max(1, Math.min(MAX_LEASE, Math.floor(perMinute / (60 * Math.max(1, processes)))));
  }

  async take(tenantId: string, perMinute: number, cost = 1): Promise<RateDecision> {
    let lease = this.leases.get(tenantId);
    if (lease?.perMinute !== perMinute) {
      lease = { tokens: 0, perMinute, fetching: null, askAgainAt: 0 };
      this.leases.set(tenantId, lease);
    }
    for (;;) {
      if (lease.tokens >= cost) {
        lease.tokens -= cost;
        return { allowed: true };
      }
      if (lease.fetching) {
        await lease.fetching;
        continue;
      }
      const waitMs = lease.askAgainAt - this.now();
      if (waitMs > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      const current = lease;
      let failed = false as boolean; // set by the fetch's rejection handler
      current.fetching = this.fetch(tenantId, current, cost).then(
        () => undefined,
        (error: unknown) => {
          failed = true;
          this.warn(error);
        },
      );
      await current.fetching;
      current.fetching = null;
      if (failed)
        return this.fallback.take(tenantId, Math.max(1, Math.floor(perMinute / this.processes)), cost);
    }
  }

  private async fetch(tenantId: string, lease: Lease, cost: number): Promise<void> {
    const { perMinute } = lease;
    const wanted = Math.min(
      perMinute,
      Math.max(cost - lease.tokens, SharedRateLimiter.leaseSize(perMinute, this.processes)),
    );
    const { granted, tokens } = await this.source.take(tenantId, perMinute, wanted);
    lease.tokens += granted;
    if (lease.tokens < cost) {
      // What the call still misses, beyond the fraction of a token left in the bucket.
      const missing = Math.max(0, cost - lease.tokens - tokens);
      lease.askAgainAt = this.now() + Math.max(1, missing / (perMinute / 60_000));
    }
  }

  private warn(error: unknown): void {
    const now = this.now();
    if (now - this.warnedAt < 60_000) return;
    this.warnedAt = now;
    this.log.warn(
      loggableError(error),
      "shared rate limit unavailable: each process enforces its share of the limit meanwhile",
    );
  }
}
