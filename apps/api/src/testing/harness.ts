import { Writable } from "node:stream";

import { createContactsClient } from "@contacts/client/client";
import type { ContactsClient } from "@contacts/client/client";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { randomBytes } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { SignJWT } from "jose";
import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import type { TaxIdKeyring } from "@contacts/db/crypto/keyring";
import { createOrm } from "@contacts/db/orm";
import type { MikroORM } from "@contacts/db/orm";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import type { Permission } from "@contacts/domain/permissions";
import type { ImportLimits } from "@contacts/domain/import-job";

import { issueApiKey } from "../auth/api-key.service.js";
import { createLogger } from "../logger.js";
import { startServer } from "../server.js";
import type { RunningServer } from "../server.js";
import type { UploadLimits } from "../services.js";
import type { SocialProfileProvider } from "../social/social-profile.js";
import { createTenantWithKey } from "../tenants/tenant.service.js";

/** A running API on a fresh database, with two tenants and helpers to make clients. */
export interface Harness {
  db: TestDatabase;
  server: RunningServer;
  url: string;
  /** Every log line the server wrote, as raw JSON text. */
  logs: string[];
  /** Tenant `alpha`, key with every permission but contacts:unmask-tax-id. */
  alpha: ContactsClient;
  alphaKey: string;
  /** Tenant `bravo`, same permissions as alpha's. */
  bravo: ContactsClient;
  client(apiKey: string, headers?: Record<string, string>): ContactsClient;
  /** A new tenant (named by its id) and a client with the same permissions as alpha's. */
  tenantClient(id: string): Promise<ContactsClient>;
  /** A client with a platform token (every tenant, every permission) acting in `tenantId`. */
  platform(tenantId: string): Promise<ContactsClient>;
  /** A new key for a tenant with exactly these permissions. */
  keyWith(tenantId: string, permissions: readonly Permission[], expiresAt?: Date): Promise<string>;
  /**
   * A JWT the server accepts: signed with the user-token secret when `claims.kind` is "user", else
   * with the service-token secret. `expiresIn` in seconds (negative: already expired).
   */
  token(
    claims: Record<string, unknown>,
    options?: { expiresIn?: number; secret?: string; audience?: string; issuedAt?: number },
  ): Promise<string>;
  /** The vault the server encrypts tax IDs with, and its keyring (for a worker sharing it). */
  vault: TaxIdVault;
  keyring: TaxIdKeyring;
  /** The user-token secret (to show a service token signed with it is refused). */
  userTokenSecret: string;
  /**
   * An EntityManager on the owner's connection (the superuser: row-level security does not apply),
   * for checking what is stored. The server itself connects as the application role.
   */
  em(): EntityManager;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    maxBodyBytes?: number;
    maxBatchSize?: number;
    poolMax?: number;
    statementTimeoutMs?: number;
    http?: { headersTimeoutMs?: number; requestTimeoutMs?: number };
    importLimits?: Partial<ImportLimits>;
    uploadLimits?: Partial<UploadLimits>;
    /** The social profile provider (default: the offline one). */
    socialProfiles?: SocialProfileProvider;
    /** Start the pg-boss queue import jobs are sent to (off by default: it adds a second or so). */
    jobQueue?: boolean;
  } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const owner: MikroORM = await createOrm({ url: db.url, poolMax: 4 });
  const keyring = generateKeyringForTests();
  const serviceSecret = randomBytes(32).toString("base64url");
  const userSecret = randomBytes(32).toString("base64url");
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString("utf8"));
      callback();
    },
  });
  const server = await startServer({
    databaseUrl: db.appUrl,
    poolMax: options.poolMax,
    statementTimeoutMs: options.statementTimeoutMs,
    http: options.http,
    taxIdKeyring: keyring,
    tokens: {
      service: { secret: serviceSecret, audience: "contacts-api" },
      user: { secret: userSecret, audience: "contacts-api" },
    },
    host: "127.0.0.1",
    port: 0,
    log: createLogger("debug", sink),
    maxBodyBytes: options.maxBodyBytes ?? 1_048_576,
    maxBatchSize: options.maxBatchSize ?? 50,
    ...(options.jobQueue ? { jobQueueUrl: db.url } : {}),
    importLimits: options.importLimits,
    uploadLimits: options.uploadLimits,
    ...(options.socialProfiles ? { socialProfiles: options.socialProfiles } : {}),
  });
  const em = () => owner.em.fork();
  const tenant = async (id: string) =>
    (
      await createTenantWithKey(em(), {
        tenant: { id, name: id },
        keyName: "test",
        // Everything but unmasking, so tests see what a normal caller sees.
        permissions: ALL_PERMISSIONS.filter((p) => p !== "contacts:unmask-tax-id"),
        createdBy: "test",
      })
    ).apiKey.key;
  const alphaKey = await tenant("alpha");
  const bravoKey = await tenant("bravo");
  const client = (apiKey: string, headers?: Record<string, string>) =>
    createContactsClient({ url: server.url, apiKey, retry: { retries: 0 }, ...(headers ? { headers } : {}) });
  return {
    db,
    server,
    url: server.url,
    logs,
    alpha: client(alphaKey),
    alphaKey,
    bravo: client(bravoKey),
    client,
    tenantClient: async (id) => client(await tenant(id)),
    platform: async (tenantId) =>
      client(
        await new SignJWT({
          kind: "service",
          sub: "platform-test",
          tenants: "*",
          permissions: ALL_PERMISSIONS,
        })
          .setProtectedHeader({ alg: "HS256" })
          .setIssuedAt()
          .setAudience("contacts-api")
          .setExpirationTime("10m")
          .sign(new TextEncoder().encode(serviceSecret)),
        { "x-tenant-id": tenantId },
      ),
    keyWith: async (tenantId, permissions, expiresAt) => {
      const e = em();
      const key = issueApiKey(e, { tenantId, name: "limited", permissions, createdBy: "test", expiresAt });
      await e.flush();
      return key.key;
    },
    token: (claims, tokenOptions = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt(tokenOptions.issuedAt)
        .setAudience(tokenOptions.audience ?? "contacts-api")
        .setExpirationTime(Math.floor(Date.now() / 1000) + (tokenOptions.expiresIn ?? 600))
        .sign(
          new TextEncoder().encode(
            tokenOptions.secret ?? (claims.kind === "user" ? userSecret : serviceSecret),
          ),
        ),
    vault: new TaxIdVault(keyring),
    keyring,
    userTokenSecret: userSecret,
    em,
    close: async () => {
      await server.close();
      await owner.close();
      await db.drop();
    },
  };
}

/** Runs `call` and returns the ContactsApiError it rejects with (fails the test if it resolves). */
export async function rejection(call: Promise<unknown>): Promise<{
  status: number;
  code: string;
  errors: { reason: string; field: string | null }[];
  details?: Record<string, unknown>;
}> {
  try {
    await call;
  } catch (error) {
    return error as never;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
