import { createHash, randomBytes, randomUUID } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { ApiKeyEntity } from "@contacts/db/entities/api-key.entity";
import { Permission } from "@contacts/domain/permissions";

import type { Credential } from "./principal.js";

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

/**
 * The usable key for a bearer secret, or null when it is unknown, revoked or expired. Runs in the
 * request's transaction before its tenant is known: the key's hash is presented to the database
 * (`app.api_key_hash`), which lets this transaction read that one key row; the caller then binds the
 * transaction to the key's tenant.
 */
export async function findUsableApiKey(tx: EntityManager, secret: string): Promise<ApiKeyEntity | null> {
  if (!secret.startsWith(KEY_PREFIX)) return null;
  const keyHash = hashApiKey(secret);
  await tx.execute("select set_config('app.api_key_hash', ?, true)", [keyHash]);
  const key = await tx.findOne(ApiKeyEntity, { keyHash });
  if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= new Date())) return null;
  return key;
}

/** What a key proves: its tenant and permissions. */
export function apiKeyCredential(key: ApiKeyEntity): Credential {
  return {
    kind: "apiKey",
    tenantId: key.tenantId,
    subject: `apikey:${key.id}`,
    userId: null,
    platform: false,
    permissions: new Set(key.permissions.filter((p): p is Permission => Permission.safeParse(p).success)),
  };
}

/** Records that a key was used; at most once a minute per key, so reads do not each cause a write. */
export async function touchApiKey(tx: EntityManager, key: ApiKeyEntity): Promise<void> {
  const now = new Date();
  if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
  await tx.nativeUpdate(ApiKeyEntity, { tenantId: key.tenantId, id: key.id }, { lastUsedAt: now });
}
