import { defineEntity, p } from "@mikro-orm/core";
import type { InferEntity } from "@mikro-orm/core";
import type { TenantSettings } from "@contacts/domain/tenant";

export const TenantEntity = defineEntity({
  name: "Tenant",
  tableName: "tenants",
  properties: {
    id: p.string().primary(),
    name: p.string(),
    settings: p.json<TenantSettings>(),
    /**
     * A floor for contact numbers: they come from the tenant's sequence (migration 22), which a
     * bulk loader raising this follows.
     */
    contactSeq: p.bigint("number").default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type TenantEntity = InferEntity<typeof TenantEntity>;
