import type { EntityManager } from "@mikro-orm/postgresql";
import { RoleEntity } from "@contacts/db/entities/role.entity";
import { TenantEntity } from "@contacts/db/entities/tenant.entity";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type { Permission } from "@contacts/domain/permissions";
import { DEFAULT_ROLES } from "@contacts/domain/role";
import { TenantInput } from "@contacts/domain/tenant";

import { issueApiKey } from "../auth/api-key.service.js";
import type { CreatedApiKey } from "../auth/api-key.service.js";

export interface TenantWithKey {
  tenantId: string;
  apiKey: CreatedApiKey;
}

/** Creates a tenant with the default role catalogue and a first API key, in one transaction. */
export async function createTenantWithKey(
  em: EntityManager,
  input: { tenant: TenantInput; keyName: string; permissions: readonly Permission[]; createdBy: string },
): Promise<TenantWithKey> {
  const tenant = TenantInput.parse(input.tenant);
  return em.transactional(async (tx) => {
    if (await tx.findOne(TenantEntity, { id: tenant.id })) {
      throw ContactsError.conflict(ErrorReason.duplicate, "id", { message: `tenant ${tenant.id} exists` });
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
