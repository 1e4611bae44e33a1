import type { EntityManager } from "@mikro-orm/postgresql";
import type { ApiKeyEntity } from "@contacts/db/entities/api-key.entity";
import { TenantEntity } from "@contacts/db/entities/tenant.entity";
import { inTenantTransaction } from "@contacts/db/tenant-scope";

import type { ApiServices } from "../services.js";
import { apiKeyCredential, findUsableApiKey, touchApiKey } from "./api-key.service.js";
import { looksLikeJwt } from "./jwt.js";
import type { Credential, Principal } from "./principal.js";

/**
 * What a bearer token proves, without a tenant bound yet: an API key (looked up by its hash) or a
 * service/user JWT (verified with jose). Null for anything else, expired or revoked.
 */
export async function credentialFor(
  tx: EntityManager,
  services: ApiServices,
  token: string,
  tenantHeader: string | null,
): Promise<{ credential: Credential; apiKey: ApiKeyEntity | null; expiresAt: Date | null } | null> {
  if (looksLikeJwt(token)) {
    const verified = await services.jwt?.credential(token, tenantHeader);
    return verified ? { credential: verified.credential, apiKey: null, expiresAt: verified.expiresAt } : null;
  }
  const apiKey = await findUsableApiKey(tx, token);
  if (!apiKey || (tenantHeader && tenantHeader !== apiKey.tenantId)) return null;
  return { credential: apiKeyCredential(apiKey), apiKey, expiresAt: apiKey.expiresAt ?? null };
}

/**
 * Authenticates inside the request's transaction and binds the transaction to the caller's tenant
 * (`app.tenant_id`, read by the row-level security policies). Null when the token proves nothing or
 * its tenant does not exist.
 */
export async function authenticate(
  tx: EntityManager,
  services: ApiServices,
  token: string,
  tenantHeader: string | null,
): Promise<Principal | null> {
  const cached = services.principals.get(token, tenantHeader);
  if (cached) {
    await inTenantTransaction(tx, cached.tenantId);
    return cached;
  }
  const ticket = services.principals.ticket();
  const found = await credentialFor(tx, services, token, tenantHeader);
  if (!found) return null;
  const { credential, apiKey, expiresAt } = found;
  await inTenantTransaction(tx, credential.tenantId);
  const tenant = await tx.findOne(TenantEntity, { id: credential.tenantId });
  if (!tenant) return null;
  if (apiKey) await touchApiKey(tx, apiKey);
  const principal = { ...credential, tenantSettings: tenant.settings };
  services.principals.set(token, tenantHeader, principal, expiresAt, ticket);
  return principal;
}
