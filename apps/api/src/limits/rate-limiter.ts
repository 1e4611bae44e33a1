/** The answer to one request for tokens. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Takes a call's tokens from its tenant's budget: the in-process bucket or the shared one. */
export interface RequestRateLimiter {
  take(tenantId: string, perMinute: number, cost?: number): RateDecision | Promise<RateDecision>;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * A token bucket per tenant: it holds up to one minute's allowance (`perMinute` tokens), refills
 * continuously at `perMinute / 60` tokens a second, and every procedure call takes one token (a
 * batch of 50 calls takes 50). Buckets live in this process: a server of one API process uses it;
 * several share one budget through `SharedRateLimiter` instead.
 */
export class TenantRateLimiter implements RequestRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  take(tenantId: string, perMinute: number, cost = 1): RateDecision {
    const now = this.now();
    const ratePerMs = perMinute / 60_000;
    const bucket = this.buckets.get(tenantId) ?? { tokens: perMinute, refilledAt: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.refilledAt) * ratePerMs);
    bucket.refilledAt = now;
    this.buckets.set(tenantId, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true };
    }
    const waitMs = (cost - bucket.tokens) / ratePerMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
