import { createHash, randomBytes, randomUUID } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { ApiKeyEntity } from "@contacts/db/entities/api-key.entity";
import { TenantEntity } from "@contacts/db/entities/tenant.entity";
import { Permission } from "@contacts/domain/permissions";

import type { Principal } from "./principal.js";

const KEY_PREFIX = "ck_";
/** last_used_at is written at most this often per key, so reads do not each cause a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** SHA-256 of a key. Keys are 32 random bytes, so a fast hash is enough (no dictionary to attack). */
export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export interface CreatedApiKey {
  id: string;
  /** The secret, shown once; only its hash is stored. */
  key: string;
  prefix: string;
  permissions: Permission[];
}

/** Issues a new API key for a tenant. The caller flushes. */
export function issueApiKey(
  em: EntityManager,
  input: {
    tenantId: string;
    name: string;
    permissions: readonly Permission[];
    createdBy: string;
    expiresAt?: Date | null;
  },
): CreatedApiKey {
  const id = randomUUID();
  const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  const prefix = key.slice(0, KEY_PREFIX.length + 6);
  em.create(ApiKeyEntity, {
    tenantId: input.tenantId,
    id,
    name: input.name,
    prefix,
    keyHash: hashApiKey(key),
    permissions: [...input.permissions],
    createdBy: input.createdBy,
    expiresAt: input.expiresAt ?? null,
  });
  return { id, key, prefix, permissions: [...input.permissions] };
}

/** Resolves a bearer key to its principal, or null when it is unknown, revoked or expired. */
export async function authenticateApiKey(em: EntityManager, secret: string): Promise<Principal | null> {
  if (!secret.startsWith(KEY_PREFIX)) return null;
  const key = await em.findOne(ApiKeyEntity, { keyHash: hashApiKey(secret) });
  const now = new Date();
  if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now)) return null;
  const tenant = await em.findOne(TenantEntity, { id: key.tenantId });
  if (!tenant) return null;
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await em.nativeUpdate(ApiKeyEntity, { tenantId: key.tenantId, id: key.id }, { lastUsedAt: now });
  }
  return {
    kind: "apiKey",
    tenantId: key.tenantId,
    subject: `apikey:${key.id}`,
    permissions: new Set(key.permissions.filter((p): p is Permission => Permission.safeParse(p).success)),
    tenantSettings: tenant.settings,
  };
}
