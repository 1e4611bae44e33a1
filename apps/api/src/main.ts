import { openDatabase } from "@contacts/db/database";
import { onStopSignal } from "@contacts/db/shutdown";
import { loggableError } from "@contacts/db/loggable-error";
import { dbEnv } from "@contacts/db/env";
import { rotateTaxIdKeys } from "@contacts/contacts/maintenance/tax-id-rotation";
import { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";
import { pruneContactEvents } from "@contacts/db/event-retention";

import {
  configuredVariables,
  env,
  importLimits,
  keyringRefusal,
  loadKeyring,
  tokenConfig,
  uploadLimits,
} from "./env.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { ensureDemoTenant } from "./tenants/demo.js";

const log = createLogger(env.LOG_LEVEL);
log.info({ configured: configuredVariables }, "configuration");
const refusal = keyringRefusal();
if (refusal) {
  log.fatal(refusal);
  process.exit(1);
}

const database = await openDatabase();
const { keyring, source } = loadKeyring();
if (source === "file" && dbEnv.databaseUrl) {
  log.warn(
    "TAX_ID_KEYS is not set: tax IDs are encrypted with development keys from the data folder (ALLOW_DEVELOPMENT_TAX_ID_KEYS=1)",
  );
}
if (database.server) {
  // Rows stored before tax IDs were encrypted, on a development database: encrypt them now.
  const { done } = await rotateTaxIdKeys(database.url, new TaxIdVault(keyring));
  if (done > 0) log.info({ rows: done }, "tax IDs re-encrypted under the current key");
}
const server = await startServer({
  databaseUrl: database.appUrl,
  host: env.HOST,
  port: env.PORT,
  log,
  maxBodyBytes: env.MAX_BODY_BYTES,
  maxBatchSize: env.MAX_BATCH_SIZE,
  statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
  taxIdKeyring: keyring,
  tokens: tokenConfig,
  jobQueueUrl: database.url,
  importLimits,
  uploadLimits,
});
const demo = env.CONTACTS_DEMO ? env.CONTACTS_DEMO === "1" : Boolean(database.server);
const devKey = demo ? await ensureDemoTenant(server.orm.em.fork(), dbEnv.dataDir) : null;
const url = env.PUBLIC_URL ?? server.url;

log.info(
  {
    url,
    embeddedDatabase: Boolean(database.server),
    serviceTokens: Boolean(tokenConfig.service.secret ?? tokenConfig.service.jwksFile),
    userTokens: Boolean(tokenConfig.user.secret ?? tokenConfig.user.jwksFile),
  },
  "contacts API listening",
);
// Printed plainly (not through the logger) so a person sees where to go and what key to use.
process.stdout.write(`\nContacts API: ${url}/trpc   (health: ${url}/health)\n`);
if (devKey) process.stdout.write(`Development API key for tenant "demo": ${devKey}\n\n`);

// Change-event retention, as the owner (the application role may not delete events).
const DAY_MS = 86_400_000;
const pruneEvents = () =>
  pruneContactEvents(database.url, new Date(Date.now() - env.CONTACT_EVENTS_RETENTION_DAYS * DAY_MS)).then(
    ({ deleted }) => deleted > 0 && log.info({ deleted }, "expired change events deleted"),
    (error: unknown) => log.error(loggableError(error), "change event retention failed"),
  );
void pruneEvents();
const pruning = setInterval(() => void pruneEvents(), 3_600_000);
pruning.unref();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  await server.close();
  await database.server?.stop();
  log.info("stopped");
  process.exit(0);
}
onStopSignal((signal) => void shutdown(signal));
