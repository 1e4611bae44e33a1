import { describe, expect, it } from "vitest";

import { PrincipalCache } from "./principal-cache.js";
import type { Principal } from "./principal.js";

const principal = (tenantId: string): Principal => ({
  kind: "apiKey",
  tenantId,
  subject: `apikey:${tenantId}`,
  userId: null,
  platform: false,
  permissions: new Set(["contacts:read"]),
  tenantSettings: { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: 60 } },
});

function cacheAt(ttlMs = 1_000) {
  const clock = { now: 0 };
  return { clock, cache: new PrincipalCache(ttlMs, 100, () => clock.now) };
}

describe("PrincipalCache", () => {
  it("returns a principal for its token until the TTL passes", () => {
    const { clock, cache } = cacheAt();
    cache.set("ck_a", null, principal("alpha"), null, cache.ticket());
    expect(cache.get("ck_a", null)?.tenantId).toBe("alpha");
    expect(cache.get("ck_b", null)).toBeNull();
    clock.now = 1_000;
    expect(cache.get("ck_a", null)).toBeNull();
  });

  it("never outlives the credential's own expiry", () => {
    const { clock, cache } = cacheAt(10_000);
    cache.set("jwt", null, principal("alpha"), new Date(500), cache.ticket());
    clock.now = 499;
    expect(cache.get("jwt", null)).not.toBeNull();
    clock.now = 500;
    expect(cache.get("jwt", null)).toBeNull();
  });

  it("keeps the same token for different X-Tenant-Id values apart", () => {
    const { cache } = cacheAt();
    cache.set("svc", "alpha", principal("alpha"), null, cache.ticket());
    expect(cache.get("svc", "bravo")).toBeNull();
    expect(cache.get("svc", null)).toBeNull();
  });

  it("forgets every principal of a tenant at once", () => {
    const { cache } = cacheAt();
    cache.set("k1", null, principal("alpha"), null, cache.ticket());
    cache.set("k2", null, principal("alpha"), null, cache.ticket());
    cache.set("k3", null, principal("bravo"), null, cache.ticket());
    cache.forgetTenant("alpha");
    expect([cache.get("k1", null), cache.get("k2", null)]).toEqual([null, null]);
    expect(cache.get("k3", null)?.tenantId).toBe("bravo");
  });

  it("does not remember a lookup that began before a tenant was forgotten (a revocation raced it)", () => {
    const { cache } = cacheAt();
    const ticket = cache.ticket();
    // ...the lookup reads the key still valid; the revocation commits and forgets the tenant...
    cache.forgetTenant("alpha");
    cache.set("ck_raced", null, principal("alpha"), null, ticket);
    expect(cache.get("ck_raced", null)).toBeNull();
    // A lookup that begins afterwards is remembered again.
    cache.set("ck_raced", null, principal("alpha"), null, cache.ticket());
    expect(cache.get("ck_raced", null)?.tenantId).toBe("alpha");
  });

  it("while suspended (the change notifications are down) forgets everything and remembers nothing", () => {
    const { cache } = cacheAt();
    cache.set("k1", null, principal("alpha"), null, cache.ticket());
    const before = cache.ticket();
    cache.suspend();
    expect(cache.get("k1", null)).toBeNull();
    cache.set("k2", null, principal("bravo"), null, cache.ticket());
    expect(cache.get("k2", null)).toBeNull();
    cache.resume();
    // A lookup that began before the channel came back is not remembered either.
    cache.set("k3", null, principal("bravo"), null, before);
    expect(cache.get("k3", null)).toBeNull();
    cache.set("k2", null, principal("bravo"), null, cache.ticket());
    expect(cache.get("k2", null)?.tenantId).toBe("bravo");
  });
});
