import { defineEntity, p } from "@mikro-orm/core";
import type { InferEntity } from "@mikro-orm/core";

export const RoleEntity = defineEntity({
  name: "Role",
  tableName: "roles",
  properties: {
    tenantId: p.string().primary(),
    code: p.string().primary(),
    description: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  primaryKeys: ["tenantId", "code"],
});
export type RoleEntity = InferEntity<typeof RoleEntity>;
