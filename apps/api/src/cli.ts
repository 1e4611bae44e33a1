#!/usr/bin/env node
import { parseArgs } from "node:util";

import { openDatabase } from "@contacts/db/database";
import { createOrm } from "@contacts/db/orm";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ALL_PERMISSIONS, Permission } from "@contacts/domain/permissions";

import { issueApiKey } from "./auth/api-key.service.js";
import { createTenantWithKey } from "./tenants/tenant.service.js";

const USAGE = `contacts-admin: manage tenants and API keys

  contacts-admin tenant create --id <slug> --name <name> [--permissions a,b,...]
  contacts-admin key create --tenant <slug> [--name <name>] [--permissions a,b,...]

Permissions default to all of: ${ALL_PERMISSIONS.join(", ")}.
Uses DATABASE_URL, or the embedded PostgreSQL of this checkout.`;

function permissionsFrom(value: string | undefined): Permission[] {
  if (!value) return [...ALL_PERMISSIONS];
  return value.split(",").map((p) => Permission.parse(p.trim()));
}

async function run(args: string[], em: EntityManager): Promise<void> {
  const [noun, verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      id: { type: "string" },
      name: { type: "string" },
      tenant: { type: "string" },
      permissions: { type: "string" },
    },
  });
  if (noun === "tenant" && verb === "create" && values.id && values.name) {
    const created = await createTenantWithKey(em, {
      tenant: { id: values.id, name: values.name },
      keyName: "initial key",
      permissions: permissionsFrom(values.permissions),
      createdBy: "cli",
    });
    process.stdout.write(`tenant ${created.tenantId} created\nAPI key (shown once): ${created.apiKey.key}\n`);
    return;
  }
  if (noun === "key" && verb === "create" && values.tenant) {
    const key = issueApiKey(em, {
      tenantId: values.tenant,
      name: values.name ?? "cli key",
      permissions: permissionsFrom(values.permissions),
      createdBy: "cli",
    });
    await em.flush();
    process.stdout.write(`API key for ${values.tenant} (shown once): ${key.key}\n`);
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = 2;
}

const database = await openDatabase();
const orm = await createOrm({ url: database.url, poolMax: 1 });
try {
  await run(process.argv.slice(2), orm.em.fork());
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await orm.close();
  await database.server?.stop();
}
