import { createHmac } from "node:crypto";

import pg from "pg";

import { APP_ROLE } from "./migrations/Migration20261123000002_access_control.js";

export { APP_ROLE };

/**
 * The application role's password when the project manages it: derived from the owner's URL, so
 * every process that holds the owner URL computes the same one and nothing extra has to be stored.
 */
function derivedPassword(ownerUrl: string): string {
  const secret = decodeURIComponent(new URL(ownerUrl).password);
  if (!secret) {
    // Without an owner password there is no secret to derive from: the operator provides the login.
    throw new Error("DATABASE_URL has no password: set DATABASE_APP_URL to the application's login");
  }
  return createHmac("sha256", secret).update(`contacts/${APP_ROLE}/v1`).digest("base64url");
}

/**
 * Refuses to run the application on a login row-level security would not bind: a superuser, a
 * BYPASSRLS role, or a member of a role that owns the tables.
 */
async function checkBoundByRls(owner: pg.Client, user: string): Promise<void> {
  const found = await owner.query<{ unsafe: boolean }>(
    `select r.rolsuper or r.rolbypassrls or exists (
       select 1 from pg_tables t where t.schemaname = 'public' and pg_has_role(r.oid, t.tableowner, 'MEMBER')
     ) as unsafe
     from pg_roles r where r.rolname = $1`,
    [user],
  );
  if (found.rows[0]?.unsafe !== false) {
    throw new Error(`the application login ${user} must exist and not bypass row-level security`);
  }
}

function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

async function canLogIn(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The URL the API and worker connect with: the `contacts_app` role (not owner, superuser or
 * BYPASSRLS, so row-level security binds it). With `configuredAppUrl` (DATABASE_APP_URL) the
 * operator manages that login and this only makes it a member of `contacts_app`; otherwise the
 * role gets LOGIN and a password derived from the owner's password (the role is shared by every
 * database of the server: databases with different owners on one server should each use
 * DATABASE_APP_URL). Either way the login is checked not to bypass row-level security. Run after
 * migrating (the migration creates the role and its grants).
 */
export async function ensureAppLogin(ownerUrl: string, configuredAppUrl: string | null): Promise<string> {
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    if (configuredAppUrl) {
      const user = decodeURIComponent(new URL(configuredAppUrl).username);
      if (user !== APP_ROLE) {
        await owner.query(`grant ${APP_ROLE} to ${pg.escapeIdentifier(user)}`);
      }
      await checkBoundByRls(owner, user);
      return configuredAppUrl;
    }
    await checkBoundByRls(owner, APP_ROLE);
    const appUrl = withCredentials(ownerUrl, APP_ROLE, derivedPassword(ownerUrl));
    if (await canLogIn(appUrl)) return appUrl;
    await owner.query(
      `alter role ${APP_ROLE} with login password ${owner.escapeLiteral(derivedPassword(ownerUrl))}`,
    );
    return appUrl;
  } finally {
    await owner.end();
  }
}

/**
 * Creates the application role if it does not exist yet (the first migration of a database does it
 * too); for callers that prepare a server before any database is migrated (the test setup).
 */
export async function ensureAppRoleExists(ownerUrl: string): Promise<void> {
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    await owner.query(`
      do $$ begin
        create role ${APP_ROLE} nologin nosuperuser nobypassrls nocreatedb nocreaterole;
      exception when duplicate_object or unique_violation then null;
      end $$;`);
  } finally {
    await owner.end();
  }
}
