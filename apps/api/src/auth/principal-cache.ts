import { createHash } from "node:crypto";

import type { Principal } from "./principal.js";

interface Entry {
  principal: Principal;
  /** When this entry stops being used (the cache TTL, or the credential's own expiry if sooner). */
  until: number;
}

/**
 * Remembers, for a few seconds, who a bearer token is (its principal with the tenant's settings),
 * so a busy caller is not looked up on every call. Entries are keyed by the token's SHA-256 (the
 * token itself is not kept), end at the credential's own expiry, and are dropped when the tenant's
 * keys or settings change (see `forgetTenant`): at once in the process that changed them, and in
 * every other API process when PostgreSQL delivers the change's notification (principal-changes.ts).
 * While that notification channel is down the cache is `suspend`ed: empty, remembering nothing.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every `forgetTenant`; a lookup that began before a bump is not cached. */
  private generation = 0;
  /** False while changes made by other processes could go unnoticed (see `suspend`). */
  private caching = true;

  constructor(
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private static keyOf(token: string, tenantHeader: string | null): string {
    return createHash("sha256")
      .update(`${tenantHeader ?? ""}\n${token}`)
      .digest("base64url");
  }

  get(token: string, tenantHeader: string | null): Principal | null {
    const key = PrincipalCache.keyOf(token, tenantHeader);
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.principal;
  }

  /** Taken before looking a token up; `set` with it caches nothing if a tenant was forgotten since. */
  ticket(): number {
    return this.generation;
  }

  /**
   * Caches what a lookup that began at `ticket` found. A revocation committed while the lookup ran
   * (it read the key still valid) is followed by `forgetTenant`, which makes the ticket stale: the
   * answer is used for this request but not remembered.
   */
  set(
    token: string,
    tenantHeader: string | null,
    principal: Principal,
    expiresAt: Date | null,
    ticket: number,
  ): void {
    if (!this.caching || ticket !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const until = Math.min(this.now() + this.ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    this.entries.set(PrincipalCache.keyOf(token, tenantHeader), { principal, until });
  }

  /**
   * Forgets everything and caches nothing until `resume`: the change notifications stopped
   * arriving, so a revocation in another process would not reach this cache.
   */
  suspend(): void {
    this.caching = false;
    this.generation++;
    this.entries.clear();
  }

  /** Caches again (notifications arrive again); anything missed meanwhile was not cached. */
  resume(): void {
    this.generation++;
    this.entries.clear();
    this.caching = true;
  }

  /** Drops every cached principal of a tenant (a key was revoked, settings changed). */
  forgetTenant(tenantId: string): void {
    this.generation++;
    for (const [key, entry] of this.entries) {
      if (entry.principal.tenantId === tenantId) this.entries.delete(key);
    }
  }
}
