import { openDatabase } from "@contacts/db/database";
import { dbEnv } from "@contacts/db/env";

import { env } from "./env.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { ensureDemoTenant } from "./tenants/demo.js";

const log = createLogger(env.LOG_LEVEL);

const database = await openDatabase();
const server = await startServer({
  databaseUrl: database.url,
  host: env.HOST,
  port: env.PORT,
  log,
  maxBodyBytes: env.MAX_BODY_BYTES,
  maxBatchSize: env.MAX_BATCH_SIZE,
});
const devKey = await ensureDemoTenant(server.orm.em.fork(), dbEnv.dataDir);
const url = env.PUBLIC_URL ?? server.url;

log.info({ url, embeddedDatabase: Boolean(database.server) }, "contacts API listening");
// Printed plainly (not through the logger) so a person sees where to go and what key to use.
process.stdout.write(`\nContacts API: ${url}/trpc   (health: ${url}/health)\n`);
if (devKey) process.stdout.write(`Development API key for tenant "demo": ${devKey}\n\n`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  await server.close();
  await database.server?.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
