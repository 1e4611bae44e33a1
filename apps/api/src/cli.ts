#!/usr/bin/env node
import { parseArgs } from "node:util";

import { openDatabase } from "@contacts/db/database";
import { dbEnv } from "@contacts/db/env";
import { addKeyToKeyringFile } from "@contacts/db/crypto/keyring";
import { rotateTaxIdKeys } from "@contacts/contacts/maintenance/tax-id-rotation";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { createOrm } from "@contacts/db/orm";
import { inTenant } from "@contacts/db/tenant-scope";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ALL_PERMISSIONS, Permission } from "@contacts/domain/permissions";

import { loadKeyring } from "./env.js";
import { backfillMatchKeys } from "@contacts/contacts/maintenance/match-keys-backfill";
import { issueApiKey } from "./auth/api-key.service.js";
import { createTenantWithKey } from "./tenants/tenant.service.js";

const USAGE = `contacts-admin: manage tenants and API keys

  contacts-admin tenant create --id <slug> --name <name> [--permissions a,b,...]
  contacts-admin key create --tenant <slug> [--name <name>] [--permissions a,b,...]
  contacts-admin tax-ids rotate [--batch <rows>] [--new-dev-key]
  contacts-admin match-keys backfill [--batch <rows>]

Tax-ID rotation re-encrypts every tax ID not under the current key (TAX_ID_CURRENT_KEY, or the
development keyring in the data folder; --new-dev-key first adds a new development key and makes it
current), in batches, each committed on its own (safe to stop and rerun). Needs an owner that
bypasses row-level security (the embedded server's superuser does).

The match-keys backfill writes the duplicate-detection keys of contacts stored without them (written
before duplicate detection existed, or loaded by SQL such as the benchmark seed), in batches; same
owner requirement, safe to rerun.

Permissions default to all of: ${ALL_PERMISSIONS.join(", ")}.
Uses DATABASE_URL, or the embedded PostgreSQL of this checkout.`;

function permissionsFrom(value: string | undefined): Permission[] {
  if (!value) return [...ALL_PERMISSIONS];
  return value.split(",").map((p) => Permission.parse(p.trim()));
}

async function run(args: string[], em: EntityManager, ownerUrl: string): Promise<void> {
  const [noun, verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      id: { type: "string" },
      name: { type: "string" },
      tenant: { type: "string" },
      permissions: { type: "string" },
      batch: { type: "string" },
      "new-dev-key": { type: "boolean" },
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
    const tenantId = values.tenant;
    const key = await inTenant(em, tenantId, async (tx) => {
      const issued = issueApiKey(tx, {
        tenantId,
        name: values.name ?? "cli key",
        permissions: permissionsFrom(values.permissions),
        createdBy: "cli",
      });
      await tx.flush();
      return issued;
    });
    process.stdout.write(`API key for ${tenantId} (shown once): ${key.key}\n`);
    return;
  }
  if (noun === "match-keys" && verb === "backfill") {
    const result = await backfillMatchKeys(ownerUrl, {
      batchSize: values.batch ? Number(values.batch) : 1000,
      onProgress: ({ scanned, updated }) => process.stdout.write(`scanned ${scanned}, updated ${updated}\n`),
    });
    process.stdout.write(`done: ${result.updated} of ${result.scanned} contacts given their match keys\n`);
    return;
  }
  if (noun === "tax-ids" && verb === "rotate") {
    if (values["new-dev-key"]) {
      const keyId = addKeyToKeyringFile(dbEnv.dataDir);
      process.stdout.write(`development key ${keyId} added and made current\n`);
    }
    const { keyring } = loadKeyring();
    const result = await rotateTaxIdKeys(ownerUrl, new TaxIdVault(keyring), {
      batchSize: values.batch ? Number(values.batch) : 500,
      onProgress: ({ done, total }) => process.stdout.write(`re-encrypted ${done}/${total}\n`),
    });
    process.stdout.write(`done: ${result.done} tax IDs re-encrypted under key ${keyring.currentKeyId}\n`);
    if (result.remaining > 0) {
      process.stdout.write(
        `${result.remaining} rows are still on another key (written by a process not yet restarted with the new key): run again\n`,
      );
      process.exitCode = 3;
    }
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = 2;
}

const database = await openDatabase();
const orm = await createOrm({ url: database.url, poolMax: 1 });
try {
  await run(process.argv.slice(2), orm.em.fork(), database.url);
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await orm.close();
  await database.server?.stop();
}
