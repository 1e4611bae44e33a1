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
  lookup(emailAddress: string, known: KnownContact | null): Promise<SocialProfile>;
}

/** Gravatar's address for an email: SHA-256 of the trimmed, lower-cased address. */
export function gravatarUrl(emailAddress: string): string {
  const hash = createHash("sha256").update(normalizeEmail(emailAddress)).digest("hex");
  return `https://www.gravatar.com/avatar/${hash}?d=404`;
}

/** The offline default: the tenant's own social fields for the address, plus its Gravatar URL. */
export const offlineSocialProfiles: SocialProfileProvider = {
  lookup(emailAddress, known) {
    return Promise.resolve({
      emailAddress: normalizeEmail(emailAddress),
      gravatarUrl: gravatarUrl(emailAddress),
      contactId: known?.id ?? null,
      social: known?.social ?? null,
      source: "offline",
    });
  },
};
