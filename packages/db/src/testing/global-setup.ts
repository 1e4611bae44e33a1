import os from "node:os";
import path from "node:path";

import type { TestProject } from "vitest/node";

import { dbEnv } from "../env.js";
import { startEphemeralPostgres } from "../postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the server test databases are created on. */
    pgAdminUrl: string;
  }
}

/**
 * Vitest global setup: one PostgreSQL server per test run. With `DATABASE_URL` set, that server is
 * used; otherwise a throwaway embedded server is started and removed at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (dbEnv.databaseUrl) {
    project.provide("pgAdminUrl", dbEnv.databaseUrl);
    return () => Promise.resolve();
  }
  const server = await startEphemeralPostgres(path.join(os.tmpdir(), "contacts-test-pg"));
  project.provide("pgAdminUrl", server.adminUrl);
  return () => server.stop();
}
