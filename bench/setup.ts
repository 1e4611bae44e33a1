import os from "node:os";
import path from "node:path";

import pg from "pg";
import { pino } from "pino";
import { startServer } from "@contacts/api/server";
import type { RunningServer } from "@contacts/api/server";
import { ensureAppLogin } from "@contacts/db/app-role";
import { generateKeyringForTests } from "@contacts/db/crypto/keyring";
import { withDatabase } from "@contacts/db/connection";
import { migrate } from "@contacts/db/orm";
import { startEphemeralPostgres } from "@contacts/db/postgres";
import type { DatabaseServer } from "@contacts/db/postgres";
import type { ImportLimits } from "@contacts/domain/import-job";

export interface BenchEnvironment {
  server: DatabaseServer;
  /** Owner (superuser) URL of the benchmark database: seeding and raw baselines that bypass nothing. */
  url: string;
  /** The application role's URL (row-level security applies). */
  appUrl: string;
  /** The API, connected as the application role, as in production. */
  api: RunningServer;
}

/**
 * A throwaway PostgreSQL with a migrated `bench` database and the application role's login (for
 * benchmarks that start the API in its own process).
 */
export async function startBenchDatabase(): Promise<Omit<BenchEnvironment, "api">> {
  const server = await startEphemeralPostgres(path.join(os.tmpdir(), "contacts-bench-pg"));
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query("create database bench");
  await admin.end();
  const url = withDatabase(server.adminUrl, "bench");
  await migrate(url);
  const appUrl = await ensureAppLogin(url, null);
  return { server, url, appUrl };
}

/**
 * A throwaway PostgreSQL with a migrated `bench` database and the API serving it (with `jobQueue`,
 * the API also queues import jobs on pg-boss).
 */
export async function startBenchEnvironment(
  options: { jobQueue?: boolean; importLimits?: Partial<ImportLimits> } = {},
): Promise<BenchEnvironment> {
  const { server, url, appUrl } = await startBenchDatabase();
  const api = await startServer({
    databaseUrl: appUrl,
    taxIdKeyring: generateKeyringForTests(),
    tokens: { service: { audience: "contacts-api" }, user: { audience: "contacts-api" } },
    host: "127.0.0.1",
    port: 0,
    log: pino({ level: "silent" }),
    maxBodyBytes: 1 << 20,
    maxBatchSize: 50,
    ...(options.jobQueue ? { jobQueueUrl: url } : {}),
    ...(options.importLimits ? { importLimits: options.importLimits } : {}),
  });
  return { server, url, appUrl, api };
}
