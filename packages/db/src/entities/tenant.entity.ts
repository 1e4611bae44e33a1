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
    /** Last contact number handed out; contact numbers are per tenant and sequential. */
    contactSeq: p.bigint("number").default(0),
    /** Kept by a trigger on contacts; compared with the tenant's contact limit. */
    contactCount: p.bigint("number").default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type TenantEntity = InferEntity<typeof TenantEntity>;
