import type { EntityManager } from "@mikro-orm/postgresql";
import { ApiKeyEntity } from "@contacts/db/entities/api-key.entity";
import { RoleEntity } from "@contacts/db/entities/role.entity";
import { contactHeadroom, ormRunner } from "@contacts/contacts/numbers";
import { TenantEntity } from "@contacts/db/entities/tenant.entity";
import { inTenant } from "@contacts/db/tenant-scope";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { Permission } from "@contacts/domain/permissions";
import { DEFAULT_ROLES } from "@contacts/domain/role";
import { TenantInput, patchTenantSettings } from "@contacts/domain/tenant";
import type { TenantSettings, TenantSettingsPatch } from "@contacts/domain/tenant";

import { issueApiKey } from "../auth/api-key.service.js";
import type { CreatedApiKey } from "../auth/api-key.service.js";

export interface TenantWithKey {
  tenantId: string;
  apiKey: CreatedApiKey;
}

/** A tenant as the admin API shows it. */
export interface TenantView {
  id: string;
  name: string;
  settings: TenantSettings;
  contactCount: number;
  createdAt: string;
}

/** An API key as the admin API lists it: never the secret or its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  permissions: string[];
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export function toTenantView(row: TenantEntity, contactCount: number): TenantView {
  return {
    id: row.id,
    name: row.name,
    settings: row.settings,
    contactCount,
    createdAt: row.createdAt.toISOString(),
  };
}

export function toApiKeyView(row: ApiKeyEntity): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    permissions: row.permissions,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Creates a tenant with the default role catalogue and a first API key, in one transaction bound
 * to the new tenant (row-level security applies to tenant creation too).
 */
export async function createTenantWithKey(
  em: EntityManager,
  input: { tenant: TenantInput; keyName: string; permissions: readonly Permission[]; createdBy: string },
): Promise<TenantWithKey> {
  const tenant = TenantInput.parse(input.tenant);
  return inTenant(em, tenant.id, async (tx) => {
    if (await tx.findOne(TenantEntity, { id: tenant.id })) {
      throw ContactsError.conflict(ErrorReason.duplicate, "tenant.id", {
        message: `tenant ${tenant.id} exists`,
      });
    }
    tx.create(TenantEntity, { id: tenant.id, name: tenant.name, settings: tenant.settings });
    await tx.flush();
    for (const code of DEFAULT_ROLES) tx.create(RoleEntity, { tenantId: tenant.id, code, description: null });
    const apiKey = issueApiKey(tx, {
      tenantId: tenant.id,
      name: input.keyName,
      permissions: input.permissions,
      createdBy: input.createdBy,
    });
    await tx.flush();
    return { tenantId: tenant.id, apiKey };
  });
}

/** Tenant administration inside the caller's tenant transaction. */
export class TenantService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantId: string,
  ) {}

  /** The caller's tenant; asking for another tenant's id is a 404 like any foreign record. */
  async get(tenantId: string = this.tenantId): Promise<TenantEntity> {
    const row = tenantId === this.tenantId ? await this.em.findOne(TenantEntity, { id: tenantId }) : null;
    if (!row) throw ContactsError.notFound("tenantId");
    return row;
  }

  async update(
    tenantId: string | undefined,
    change: { name?: string | undefined; settings?: TenantSettingsPatch | undefined },
  ): Promise<TenantEntity> {
    const row = await this.get(tenantId);
    if (change.name !== undefined) row.name = change.name;
    if (change.settings) row.settings = patchTenantSettings(row.settings, change.settings);
    await this.em.flush();
    return row;
  }

  /** The tenant's contacts as committed (`tenant_contact_counts`, see migration 22). */
  async contactCount(): Promise<number> {
    return (await contactHeadroom(ormRunner(this.em), this.tenantId)).count;
  }

  async listKeys(): Promise<ApiKeyEntity[]> {
    return this.em.find(
      ApiKeyEntity,
      { tenantId: this.tenantId },
      { orderBy: { createdAt: "asc", id: "asc" } },
    );
  }

  /** Revokes a key of this tenant (idempotent); another tenant's key id is a 404. */
  async revokeKey(id: string): Promise<ApiKeyEntity> {
    const row = await this.em.findOne(ApiKeyEntity, { tenantId: this.tenantId, id });
    if (!row) throw ContactsError.notFound("id");
    row.revokedAt ??= new Date();
    await this.em.flush();
    return row;
  }
}
