import { defineEntity, p } from "@mikro-orm/core";
import type { InferEntity } from "@mikro-orm/core";

/** A tenant API key. Only the SHA-256 of the secret is stored; the secret is shown once. */
export const ApiKeyEntity = defineEntity({
  name: "ApiKey",
  tableName: "api_keys",
  properties: {
    tenantId: p.string().primary(),
    id: p.uuid().primary(),
    name: p.string(),
    /** First characters of the key, to recognise it in lists without revealing it. */
    prefix: p.string(),
    keyHash: p.string().unique(),
    permissions: p.array(),
    createdAt: p.datetime().onCreate(() => new Date()),
    createdBy: p.string(),
    lastUsedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
  primaryKeys: ["tenantId", "id"],
});
export type ApiKeyEntity = InferEntity<typeof ApiKeyEntity>;
