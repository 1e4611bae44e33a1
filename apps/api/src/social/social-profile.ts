import { createHash } from "node:crypto";

import type { SocialLinks } from "@contacts/domain/contact";
import { normalizeEmail } from "@contacts/domain/email";

/** What `contacts.socialProfile` answers for an email address. */
export interface SocialProfile {
  emailAddress: string;
  /** Gravatar image for the address (`d=404`: no image when the address has no Gravatar). */
  gravatarUrl: string;
  /** The tenant's contact with this address, when there is one. */
  contactId: string | null;
  social: SocialLinks | null;
  /** Which provider answered. */
  source: string;
}

/** What the tenant already knows about the address. */
export interface KnownContact {
  id: string;
  social: SocialLinks;
}

/**
 * Where social profiles come from. The default works offline from the tenant's own data; a provider
 * that calls an enrichment service implements the same interface and is passed to the server.
 */
export interface SocialProfileProvider {
  /**
   * The profile of an address, or null when the provider knows nothing of it: with no contact of the
   * tenant holding it either, `contacts.socialProfile` is then a 404 (the rolodex's "social profile
   * was not found").
   */
  lookup(emailAddress: string, known: KnownContact | null): Promise<SocialProfile | null>;
}

/** Gravatar's address for an email: SHA-256 of the trimmed, lower-cased address. */
export function gravatarUrl(emailAddress: string): string {
  const hash = createHash("sha256").update(normalizeEmail(emailAddress)).digest("hex");
  return `https://www.gravatar.com/avatar/${hash}?d=404`;
}

/**
 * The offline default: the tenant's own social fields for the address, plus its Gravatar URL; it
 * knows nothing of an address no contact of the tenant holds.
 */
export const offlineSocialProfiles: SocialProfileProvider = {
  lookup(emailAddress, known) {
    if (!known) return Promise.resolve(null);
    return Promise.resolve({
      emailAddress: normalizeEmail(emailAddress),
      gravatarUrl: gravatarUrl(emailAddress),
      contactId: known.id,
      social: known.social,
      source: "offline",
    });
  },
};
