import fs from "node:fs";
import path from "node:path";

import type { EntityManager } from "@mikro-orm/postgresql";
import { TenantEntity } from "@contacts/db/entities/tenant.entity";
import { inTenant } from "@contacts/db/tenant-scope";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { findUsableApiKey } from "../auth/api-key.service.js";
import { createTenantWithKey } from "./tenant.service.js";

export const DEMO_TENANT = "demo";

/**
 * Creates the `demo` tenant with a development key (every permission but contacts:unmask-tax-id)
 * when it does not exist, and keeps the key in the (git-ignored) data folder so later starts print
 * it again. Returns the key when one is usable, else null (the tenant exists but the key file is
 * gone or the key was revoked).
 */
export async function ensureDemoTenant(em: EntityManager, dataDir: string): Promise<string | null> {
  const keyFile = path.join(dataDir, "dev-api-key");
  if (fs.existsSync(keyFile)) {
    const key = fs.readFileSync(keyFile, "utf8").trim();
    if (await em.fork().transactional((tx) => findUsableApiKey(tx, key))) return key;
  }
  if (await inTenant(em.fork(), DEMO_TENANT, (tx) => tx.findOne(TenantEntity, { id: DEMO_TENANT })))
    return null;
  const created = await createTenantWithKey(em.fork(), {
    tenant: { id: DEMO_TENANT, name: "Demo tenant" },
    keyName: "development key",
    // Everything but seeing tax IDs unmasked: the demo shows what a normal caller sees.
    permissions: ALL_PERMISSIONS.filter((p) => p !== "contacts:unmask-tax-id"),
    createdBy: "bootstrap",
  });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(keyFile, created.apiKey.key + "\n", { mode: 0o600 });
  return created.apiKey.key;
}
