import type { MikroORM } from "@contacts/db/orm";
import type { TenantReads } from "@contacts/db/tenant-reads";
import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { WebhookSecretBox } from "@contacts/db/crypto/webhook-secrets";
import type { ImportLimits } from "@contacts/domain/import-job";

import type { JwtVerifier } from "./auth/jwt.js";
import type { PrincipalCache } from "./auth/principal-cache.js";
import type { ImportJobQueue } from "./imports/import-jobs.js";
import type { RequestRateLimiter } from "./limits/rate-limiter.js";
import type { TenantSlots } from "./limits/tenant-slots.js";
import type { Logger } from "./logger.js";
import type { SocialProfileProvider } from "./social/social-profile.js";

/** The long-lived parts every request uses, built once by the server. */
export interface ApiServices {
  /** Connected as the application role: row-level security applies to every query. */
  orm: MikroORM;
  /** Reads on the same pool without a unit of work (the read procedures): one round trip each. */
  reads: TenantReads;
  log: Logger;
  vault: TaxIdVault;
  /** Encrypts webhook signing secrets (the worker decrypts them to sign). */
  webhookSecrets: WebhookSecretBox;
  /** Null when no JWT secret or JWKS is configured (API keys only). */
  jwt: JwtVerifier | null;
  /** The tenants' request budgets: in this process, or shared by every API process (SharedRateLimiter). */
  rateLimiter: RequestRateLimiter;
  /** CSV exports streaming per tenant (settings.limits.exports). */
  exportSlots: TenantSlots;
  /** Recently authenticated callers (a few seconds; dropped when a tenant's keys or settings change). */
  principals: PrincipalCache;
  socialProfiles: SocialProfileProvider;
  /** Null when the server runs without a job queue: the worker's sweep picks up queued imports. */
  importJobs: ImportJobQueue | null;
  /** The limits new imports get. */
  importLimits: ImportLimits;
  /** CSV uploads streaming at once: per tenant (settings.limits.imports) and in all (key `*`). */
  uploadSlots: TenantSlots;
  uploadLimits: UploadLimits;
}

/**
 * An upload holds a pooled connection (its transaction) while the body arrives, so a slow sender
 * must not hold it for long, nor many of them all of the pool.
 */
export interface UploadLimits {
  /** Uploads streaming at once in this process, every tenant together (default: half the pool). */
  atOnce: number;
  /** An upload that sends no byte for this long is 408 `timeout` and stores nothing. */
  idleSeconds: number;
  /** An upload still arriving after this long is 408 `timeout` and stores nothing. */
  maxSeconds: number;
}
