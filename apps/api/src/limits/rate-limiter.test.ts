import { describe, expect, it } from "vitest";

import { TenantRateLimiter } from "./rate-limiter.js";

function limiterAt(start = 0) {
  const clock = { now: start };
  return { clock, limiter: new TenantRateLimiter(() => clock.now) };
}

describe("TenantRateLimiter", () => {
  it("allows a burst of one minute's allowance, then refuses with the wait for one token", () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 60; i++) expect(limiter.take("a", 60)).toEqual({ allowed: true });
    expect(limiter.take("a", 60)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it("refills continuously at the per-minute rate", () => {
    const { clock, limiter } = limiterAt();
    for (let i = 0; i < 6; i++) limiter.take("a", 6);
    expect(limiter.take("a", 6)).toEqual({ allowed: false, retryAfterSeconds: 10 });
    clock.now += 10_000;
    expect(limiter.take("a", 6)).toEqual({ allowed: true });
    expect(limiter.take("a", 6).allowed).toBe(false);
  });

  it("keeps tenants apart", () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 5; i++) limiter.take("a", 5);
    expect(limiter.take("a", 5).allowed).toBe(false);
    expect(limiter.take("b", 5).allowed).toBe(true);
  });

  it("charges the cost asked for and never refills past the bucket size", () => {
    const { clock, limiter } = limiterAt();
    expect(limiter.take("a", 100, 50).allowed).toBe(true);
    expect(limiter.take("a", 100, 51)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.now += 3_600_000;
    expect(limiter.take("a", 100, 100).allowed).toBe(true);
    expect(limiter.take("a", 100, 1).allowed).toBe(false);
  });
});
