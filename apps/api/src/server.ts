import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { createOrm } from "@contacts/db/orm";
import type { MikroORM } from "@contacts/db/orm";
import type { TaxIdKeyring } from "@contacts/db/crypto/keyring";
import { WebhookSecretBox } from "@contacts/db/crypto/webhook-secrets";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { ImportLimits } from "@contacts/domain/import-job";

import { JwtVerifier } from "./auth/jwt.js";
import { PrincipalCache } from "./auth/principal-cache.js";
import type { TokenConfig } from "./auth/jwt.js";
import { createApp } from "./http/app.js";
import { answerClientError } from "./http/client-error.js";
import { startImportJobQueue } from "./imports/import-jobs.js";
import { TenantRateLimiter } from "./limits/rate-limiter.js";
import { SharedRateLimiter } from "./limits/shared-rate-limiter.js";
import { followTenantChanges } from "./auth/principal-changes.js";
import { RequestTokenStore } from "@contacts/db/request-tokens";
import { TenantReads } from "@contacts/db/tenant-reads";
import { TenantSlots } from "./limits/tenant-slots.js";
import { useCursorSecret } from "@contacts/contacts/cursor";
import type { Logger } from "./logger.js";
import { offlineSocialProfiles } from "./social/social-profile.js";
import type { SocialProfileProvider } from "./social/social-profile.js";
import type { UploadLimits } from "./services.js";

export interface RunningServer {
  url: string;
  orm: MikroORM;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** The application role's URL (row-level security applies), not the owner's. */
  databaseUrl: string;
  /** Connection pool size (default 20). */
  poolMax?: number;
  /** A statement of a request running or waiting longer is cancelled: 503 `timeout` (default 30 s). */
  statementTimeoutMs?: number;
  taxIdKeyring: TaxIdKeyring;
  tokens: TokenConfig;
  socialProfiles?: SocialProfileProvider;
  host: string;
  port: number;
  log: Logger;
  maxBodyBytes: number;
  maxBatchSize: number;
  /** The owner's URL, for the pg-boss queue import jobs are sent to (none: imports wait for the worker's sweep). */
  jobQueueUrl?: string;
  /** Limits of new imports (defaults: 200 MB, 10,000-byte fields, 100 columns, 2,000,000 records). */
  importLimits?: Partial<ImportLimits>;
  /**
   * Node's bounds of a request: all its headers within `headersTimeoutMs` (default 60 s), all of it
   * within `requestTimeoutMs` (default: the longest an upload may last plus a minute, at least 5 min).
   * Past either the answer is 408 `timeout`.
   */
  http?: { headersTimeoutMs?: number; requestTimeoutMs?: number };
  /** Limits of uploads in flight (defaults: half the pool at once, 30 s idle, 15 min in all). */
  uploadLimits?: Partial<UploadLimits>;
  /**
   * How many API processes serve together (default 1). With more than one, the tenants' request
   * budgets are PostgreSQL's buckets shared by all of them (SharedRateLimiter); with one, this
   * process's own.
   */
  processes?: number;
  /** This process among them, named in an `X-Api-Process` header (only when several serve). */
  processTag?: string;
}

const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  maxFileBytes: 200 * 1024 * 1024,
  maxFieldBytes: 10_000,
  maxColumns: 100,
  maxRecords: 2_000_000,
};

/** Opens the ORM and serves the app over HTTP. Port 0 picks a free port (tests). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const jwt = JwtVerifier.fromConfig(options.tokens);
  const poolMax = options.poolMax ?? 20;
  const orm = await createOrm({
    url: options.databaseUrl,
    poolMax,
    statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
    // An upload sets its own, longer, bound (it waits for the body inside its transaction).
    idleInTransactionMs: 60_000,
  });
  const importJobs = options.jobQueueUrl ? await startImportJobQueue(options.jobQueueUrl, options.log) : null;
  useCursorSecret(options.taxIdKeyring.indexKey);
  const processes = options.processes ?? 1;
  const principals = new PrincipalCache();
  // Key revocations and settings changes made by any API process reach this one's cache.
  const tenantChanges = await followTenantChanges(options.databaseUrl, principals, options.log);
  const tokenStore = processes > 1 ? new RequestTokenStore(options.databaseUrl) : null;
  const uploadLimits = {
    atOnce: Math.max(1, Math.floor(poolMax / 2)),
    idleSeconds: 30,
    maxSeconds: 900,
    ...options.uploadLimits,
  };
  const app = createApp({
    services: {
      orm,
      reads: new TenantReads(orm),
      log: options.log,
      vault: new TaxIdVault(options.taxIdKeyring),
      webhookSecrets: new WebhookSecretBox(options.taxIdKeyring),
      jwt,
      rateLimiter: tokenStore
        ? new SharedRateLimiter(tokenStore, processes, options.log)
        : new TenantRateLimiter(),
      exportSlots: new TenantSlots(),
      principals,
      socialProfiles: options.socialProfiles ?? offlineSocialProfiles,
      importJobs,
      importLimits: { ...DEFAULT_IMPORT_LIMITS, ...options.importLimits },
      uploadSlots: new TenantSlots(),
      uploadLimits,
    },
    maxBodyBytes: options.maxBodyBytes,
    maxBatchSize: options.maxBatchSize,
    ...(processes > 1 && options.processTag ? { processTag: options.processTag } : {}),
  });
  const headersTimeout = options.http?.headersTimeoutMs ?? 60_000;
  const requestTimeout =
    options.http?.requestTimeoutMs ?? Math.max(300_000, (uploadLimits.maxSeconds + 60) * 1000);
  const serverOptions = {
    headersTimeout,
    requestTimeout,
    // How often Node looks for requests past those bounds.
    connectionsCheckingInterval: Math.min(30_000, Math.ceil(headersTimeout / 2)),
  };
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port, serverOptions }, () =>
      resolve(s),
    );
    s.on("clientError", answerClientError);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    orm,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await importJobs?.stop();
      await tenantChanges.stop();
      await tokenStore?.close();
      await orm.close();
    },
  };
}
