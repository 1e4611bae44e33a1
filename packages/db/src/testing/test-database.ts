import { randomBytes } from "node:crypto";

import pg from "pg";
import { inject } from "vitest";

import { migrate } from "../orm.js";
import { withDatabase } from "../connection.js";
import { ensureAppLogin } from "../app-role.js";

export interface TestDatabase {
  /** Owner (superuser) URL. */
  url: string;
  /** The application role's URL: row-level security applies, as in the API. */
  appUrl: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, migrated by the real migrations, on the run's server
 * (see global-setup.ts).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject("pgAdminUrl");
  const name = `test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  await migrate(url);
  const appUrl = await ensureAppLogin(url, null);
  return {
    url,
    appUrl,
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
