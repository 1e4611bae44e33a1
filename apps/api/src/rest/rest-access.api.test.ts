import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContactsClient } from "@contacts/client/client";
import { uploadImport } from "@contacts/client/csv";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import type { Permission } from "@contacts/domain/permissions";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";
import { procedureRoutes } from "./rest-routes.js";
import type { ProcedureRoute } from "./rest-routes.js";

/*
 * The REST layer's access rules, over real HTTP: every route of `procedureRoutes()` has at least one
 * case below (the completeness check fails otherwise), and every case is run
 *  - by tenant bravo with tenant alpha's ids: 404 (or the documented status) and nothing of alpha
 *    changed or shown (the BOLA matrix);
 *  - by an alpha key holding every permission but the one the case needs: 403 (the permission matrix);
 *  - with no credential and with an unknown one: 401;
 *  - by a key without contacts:unmask-tax-id on fresh data of its own: the documented success status,
 *    and no clear tax ID anywhere in the answer (history and change feed included).
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

/** The stored tax ID before and after the fixture's update: both share the clear prefix. */
const TAX_ID_FIRST = "555-44-0000";
const TAX_ID = "555-44-3333";
const CLEAR_FRAGMENTS = ["555-44", "55544"];
const MASKED = /^\*{3}-\*{2}-\d{4}$/;

const allBut = (permission: Permission) => ALL_PERMISSIONS.filter((p) => p !== permission);
const person = { subtype: "person", firstName: "Ada", lastName: "Lovelace" } as const;
const suffix = () => randomUUID().slice(0, 8);

/** What one tenant's fixture holds (every id a route may take). */
interface Ids {
  tenant: string;
  /** On `account`, with PRIMARY, an email, an external id, a portal delegate and a tax ID (updated once). */
  contact: string;
  externalId: string;
  email: string;
  /** Same name, email and tax ID as `contact`: a merge source and a duplicate. */
  twin: string;
  /** `contact`'s portal delegate. */
  delegate: string;
  /** With a child account, a channel and `contact`. */
  account: string;
  accountRef: { type: string; key: string };
  /** No contacts, no children, no channels: deletable. */
  emptyAccount: string;
  channel: string;
  /** A role no contact holds. */
  role: string;
  import: string;
  apiKey: string;
  /** A webhook endpoint (no deliveries). */
  webhook: string;
  /** A portal user whose linked contact has a tax ID. */
  user: string;
}

async function seed(c: ContactsClient, tenant: string): Promise<Ids> {
  const s = suffix();
  const account = await c.accounts.create.mutate({
    account: { type: "CLOUD", key: `acct-${s}`, name: "Fixture" },
  });
  await c.accounts.create.mutate({
    account: { type: "CLOUD", key: `child-${s}`, name: "Child", parentId: account.id },
  });
  const emptyAccount = await c.accounts.create.mutate({
    account: { type: "CLOUD", key: `empty-${s}`, name: "Empty" },
  });
  const channel = await c.accounts.channels.add.mutate({
    accountId: account.id,
    channel: { label: "fax", telephone: "+1 210 555 0199" },
  });
  const role = await c.roles.create.mutate({ code: `UNUSED_${s.toUpperCase().replace(/[^A-Z0-9]/g, "X")}` });
  const delegate = await c.contacts.create.mutate({ contact: { ...person, firstName: "Delegate" } });
  const email = `ada-${s}@example.com`;
  const externalId = `ext-${s}`;
  const contact = await c.contacts.create.mutate({
    contact: {
      ...person,
      emails: [{ address: email }],
      taxId: TAX_ID_FIRST,
      externalId,
      portalDelegates: [delegate.id],
      accountId: account.id,
      roles: ["PRIMARY"],
    },
  });
  await c.contacts.patch.mutate({
    id: contact.id,
    patch: [{ op: "replace", path: "/taxId", value: TAX_ID }],
  });
  const twin = await c.contacts.create.mutate({
    contact: { ...person, emails: [{ address: email }], taxId: TAX_ID },
  });
  const user = `portal-${s}`;
  await h
    .client(await h.token({ kind: "user", sub: user, tenant }))
    .me.create.mutate({ contact: { ...person, firstName: "Portal", taxId: TAX_ID } });
  const upload = await uploadImport(
    { url: h.url, apiKey: await h.keyWith(tenant, ["imports:write"]) },
    new TextEncoder().encode("First Name,Last Name\nAda,Lovelace\n"),
  );
  const key = await c.admin.apiKeys.create.mutate({ name: "fixture", permissions: ["contacts:read"] });
  const webhook = await c.admin.webhooks.create.mutate({ url: "https://hooks.example.com/fixture" });
  return {
    tenant,
    contact: contact.id,
    externalId,
    email,
    twin: twin.id,
    delegate: delegate.id,
    account: account.id,
    accountRef: { type: account.type, key: account.key },
    emptyAccount: emptyAccount.id,
    channel: channel.id,
    role: role.code,
    import: upload.importId,
    apiKey: key.id,
    webhook: webhook.id,
    user,
  };
}

/** One request to a route: its path parameters, query string, body and extra headers. */
interface Request {
  params?: Record<string, string>;
  query?: Record<string, string | string[]>;
  body?: unknown;
  headers?: Record<string, string>;
}

type Needs = Permission | "user token" | "platform token";

interface Case {
  /** `METHOD /path` exactly as `procedureRoutes()` has it. */
  route: string;
  /** What this case shows, when the route has more than one. */
  variant?: string;
  needs: Needs;
  request: (ids: Ids) => Request;
  /** The field a 403 names: the input the permission guards (else the error names none). */
  field?: string;
  /**
   * Tenant bravo calling with alpha's ids: the status and field it gets (a 404 `not_found`, or 400
   * `unknown_reference` for an id inside the body). "own data" for a request that names nothing of
   * alpha's (or only in a filter): it acts on bravo's own data, answers its success status and shows
   * nothing of alpha.
   */
  bola: { status: 404 | 400; field: string | null } | "own data";
  /** The portal user the call is made as: the fixture's linked one, or a new one (me.create). */
  user?: "new";
}

const CASES: Case[] = [
  // contacts
  {
    route: "POST /contacts",
    needs: "contacts:write",
    request: () => ({ body: { ...person, taxId: TAX_ID } }),
    bola: "own data",
  },
  {
    route: "POST /contacts",
    variant: "on their account",
    needs: "contacts:write",
    request: (t) => ({ body: { ...person, accountId: t.account } }),
    bola: { status: 400, field: "accountId" },
  },
  {
    route: "POST /contacts",
    variant: "with their spouse",
    needs: "contacts:write",
    request: (t) => ({ body: { ...person, spouseId: t.contact } }),
    bola: { status: 400, field: "spouseId" },
  },
  {
    route: "POST /contacts",
    variant: "with their delegate",
    needs: "contacts:write",
    request: (t) => ({ body: { ...person, portalDelegates: [t.delegate] } }),
    bola: { status: 400, field: "portalDelegates.0" },
  },
  {
    route: "POST /contacts",
    variant: "with their role",
    needs: "contacts:write",
    request: (t) => ({ body: { ...person, roles: [t.role] } }),
    bola: { status: 400, field: "roles.0" },
  },
  {
    route: "GET /contacts/by-external-id/{externalId}",
    needs: "contacts:read",
    request: (t) => ({ params: { externalId: t.externalId } }),
    bola: { status: 404, field: "externalId" },
  },
  {
    route: "GET /contacts/{id}",
    needs: "contacts:read",
    request: (t) => ({ params: { id: t.contact } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "GET /contacts/{id}",
    variant: "projected on taxId",
    needs: "contacts:read",
    request: (t) => ({ params: { id: t.contact }, query: { fields: "taxId" } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "PUT /contacts/{id}",
    needs: "contacts:write",
    request: (t) => ({ params: { id: t.contact }, body: { ...person, notes: "replaced" } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "PUT /contacts/{id}",
    variant: "locking it",
    needs: "contacts:unlock",
    request: (t) => ({ params: { id: t.contact }, body: { ...person, locked: true } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "PATCH /contacts/{id}",
    needs: "contacts:write",
    request: (t) => ({
      params: { id: t.contact },
      body: [{ op: "replace", path: "/notes", value: "patched" }],
    }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "PATCH /contacts/{id}",
    variant: "locking it",
    needs: "contacts:unlock",
    request: (t) => ({ params: { id: t.contact }, body: [{ op: "replace", path: "/locked", value: true }] }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "POST /contacts/{targetId}/merge",
    needs: "contacts:write",
    request: (t) => ({ params: { targetId: t.contact }, body: { sourceIds: [t.twin] } }),
    bola: { status: 404, field: "targetId" },
  },
  {
    route: "GET /contacts/{id}/duplicates",
    needs: "contacts:read",
    request: (t) => ({ params: { id: t.contact } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "DELETE /contacts/{id}",
    needs: "contacts:delete",
    request: (t) => ({ params: { id: t.contact } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "GET /contacts",
    needs: "contacts:read",
    request: (t) => ({ query: { ids: [t.contact, t.twin, t.delegate] } }),
    bola: "own data",
  },
  {
    route: "GET /contacts",
    variant: "on their account, by their email",
    needs: "contacts:read",
    request: (t) => ({ query: { accountIds: t.account, emailAddress: t.email } }),
    bola: "own data",
  },
  {
    route: "GET /contacts",
    variant: "by tax ID",
    needs: "contacts:unmask-tax-id",
    request: () => ({ query: { taxId: TAX_ID } }),
    field: "taxId",
    bola: "own data",
  },
  {
    route: "GET /accounts/{accountId}/contacts",
    needs: "contacts:read",
    request: (t) => ({ params: { accountId: t.account } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "GET /accounts/{accountId}/descendants",
    needs: "contacts:read",
    request: (t) => ({ params: { accountId: t.account } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "GET /contacts/{managerId}/can-manage",
    needs: "contacts:read",
    request: (t) => ({ params: { managerId: t.delegate }, query: { emailAddress: t.email } }),
    bola: { status: 404, field: "managerId" },
  },
  {
    route: "GET /social-profile",
    needs: "contacts:read",
    request: (t) => ({ query: { emailAddress: t.email } }),
    bola: { status: 404, field: "emailAddress" },
  },
  {
    route: "GET /contacts/{id}/history",
    needs: "contacts:read",
    request: (t) => ({ params: { id: t.contact } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "GET /changes",
    needs: "contacts:read",
    request: () => ({ query: { limit: "1000" } }),
    bola: "own data",
  },
  // accounts and channels
  {
    route: "POST /accounts",
    needs: "accounts:write",
    request: () => ({ body: { type: "CLOUD", key: `new-${suffix()}`, name: "New" } }),
    bola: "own data",
  },
  {
    route: "POST /accounts",
    variant: "under their account",
    needs: "accounts:write",
    request: (t) => ({ body: { type: "CLOUD", key: `new-${suffix()}`, name: "New", parentId: t.account } }),
    bola: { status: 400, field: "parentId" },
  },
  {
    route: "GET /accounts/by-key/{type}/{key}",
    needs: "accounts:read",
    request: (t) => ({ params: t.accountRef }),
    bola: { status: 404, field: "key" },
  },
  {
    route: "GET /accounts/{id}",
    needs: "accounts:read",
    request: (t) => ({ params: { id: t.account } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "PUT /accounts/{id}",
    needs: "accounts:write",
    request: (t) => ({ params: { id: t.account }, body: { ...t.accountRef, name: "Renamed" } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "DELETE /accounts/{id}",
    needs: "accounts:write",
    request: (t) => ({ params: { id: t.emptyAccount } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "GET /accounts",
    needs: "accounts:read",
    request: (t) => ({ query: { parentId: t.account } }),
    bola: "own data",
  },
  {
    route: "DELETE /accounts/{accountId}/contacts",
    needs: "contacts:delete",
    request: (t) => ({ params: { accountId: t.account } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "POST /accounts/{accountId}/channels",
    needs: "accounts:write",
    request: (t) => ({ params: { accountId: t.account }, body: { label: "general", telephone: "1" } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "PATCH /accounts/{accountId}/channels/{id}",
    needs: "accounts:write",
    request: (t) => ({
      params: { accountId: t.account, id: t.channel },
      body: { telephone: "+1 210 555 0100" },
    }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "DELETE /accounts/{accountId}/channels/{id}",
    needs: "accounts:write",
    request: (t) => ({ params: { accountId: t.account, id: t.channel } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "DELETE /accounts/{accountId}/channels",
    needs: "accounts:write",
    request: (t) => ({ params: { accountId: t.account } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "GET /accounts/{accountId}/channels/{id}",
    needs: "accounts:read",
    request: (t) => ({ params: { accountId: t.account, id: t.channel } }),
    bola: { status: 404, field: "accountId" },
  },
  {
    route: "GET /accounts/{accountId}/channels",
    needs: "accounts:read",
    request: (t) => ({ params: { accountId: t.account } }),
    bola: { status: 404, field: "accountId" },
  },
  // roles
  { route: "GET /roles", needs: "contacts:read", request: () => ({}), bola: "own data" },
  {
    route: "POST /roles",
    needs: "admin",
    request: () => ({
      body: {
        code: `NEW_${suffix()
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, "X")}`,
      },
    }),
    bola: "own data",
  },
  {
    route: "DELETE /roles/{code}",
    needs: "admin",
    request: (t) => ({ params: { code: t.role } }),
    bola: { status: 404, field: "code" },
  },
  // imports
  {
    route: "GET /imports/{id}",
    needs: "imports:write",
    request: (t) => ({ params: { id: t.import } }),
    bola: { status: 404, field: "id" },
  },
  { route: "GET /imports", needs: "imports:write", request: () => ({}), bola: "own data" },
  {
    route: "POST /imports/{id}/cancel",
    needs: "imports:write",
    request: (t) => ({ params: { id: t.import } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "GET /imports/{id}/errors",
    needs: "imports:write",
    request: (t) => ({ params: { id: t.import } }),
    bola: { status: 404, field: "id" },
  },
  // the portal user's own contact: bravo's user of the same name is another user
  {
    route: "GET /me",
    needs: "user token",
    request: () => ({}),
    bola: { status: 404, field: null },
  },
  {
    route: "POST /me",
    needs: "user token",
    request: () => ({ body: { ...person, taxId: TAX_ID } }),
    user: "new",
    // No id of any tenant's: references (account, roles, spouse, delegates) are the tenant's to set.
    bola: "own data",
  },
  // administration
  {
    route: "POST /admin/tenants",
    needs: "platform token",
    request: () => ({ body: { tenant: { id: `t-${suffix()}`, name: "New tenant" } } }),
    bola: "own data",
  },
  { route: "GET /admin/tenant", needs: "admin", request: () => ({}), bola: "own data" },
  {
    route: "GET /admin/tenant",
    variant: "naming their tenant",
    needs: "admin",
    request: (t) => ({ query: { tenantId: t.tenant } }),
    bola: { status: 404, field: "tenantId" },
  },
  {
    route: "PATCH /admin/tenant",
    needs: "admin",
    request: () => ({ body: { name: "Renamed" } }),
    bola: "own data",
  },
  {
    route: "PATCH /admin/tenant",
    variant: "naming their tenant",
    needs: "admin",
    request: (t) => ({ body: { tenantId: t.tenant, name: "Hijacked" } }),
    bola: { status: 404, field: "tenantId" },
  },
  {
    route: "PATCH /admin/tenant",
    variant: "unmasking tax IDs",
    needs: "contacts:unmask-tax-id",
    request: () => ({ body: { settings: { taxIdAlwaysUnmasked: true } } }),
    field: "settings.taxIdAlwaysUnmasked",
    bola: "own data",
  },
  {
    route: "POST /admin/api-keys",
    needs: "admin",
    request: () => ({ body: { name: "new", permissions: ["contacts:read"] } }),
    bola: "own data",
  },
  { route: "GET /admin/api-keys", needs: "admin", request: () => ({}), bola: "own data" },
  {
    route: "DELETE /admin/api-keys/{id}",
    needs: "admin",
    request: (t) => ({ params: { id: t.apiKey } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "POST /admin/webhooks",
    needs: "admin",
    request: () => ({ body: { url: "https://hooks.example.com/new" } }),
    bola: "own data",
  },
  { route: "GET /admin/webhooks", needs: "admin", request: () => ({}), bola: "own data" },
  {
    route: "PATCH /admin/webhooks/{id}",
    needs: "admin",
    request: (t) => ({ params: { id: t.webhook }, body: { enabled: false } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "DELETE /admin/webhooks/{id}",
    needs: "admin",
    request: (t) => ({ params: { id: t.webhook } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "POST /admin/webhooks/{id}/test",
    needs: "admin",
    request: (t) => ({ params: { id: t.webhook } }),
    bola: { status: 404, field: "id" },
  },
  {
    route: "GET /admin/webhooks/{endpointId}/deliveries",
    needs: "admin",
    request: (t) => ({ params: { endpointId: t.webhook } }),
    bola: { status: 404, field: "endpointId" },
  },
  {
    route: "POST /admin/webhooks/{endpointId}/replay",
    needs: "admin",
    request: (t) => ({ params: { endpointId: t.webhook } }),
    bola: { status: 404, field: "endpointId" },
  },
  {
    route: "GET /admin/tax-id-reveals",
    needs: "admin",
    request: (t) => ({ query: { contactId: t.contact } }),
    bola: "own data",
  },
];

const ROUTES = new Map(procedureRoutes().map((r) => [`${r.route.method} ${r.route.path}`, r]));

function routeOf(c: Case): ProcedureRoute {
  const route = ROUTES.get(c.route);
  if (!route) throw new Error(`${c.route} is not a REST route`);
  return route;
}

const nameOf = (c: Case) => (c.variant ? `${c.route} (${c.variant})` : c.route);

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/** The case's request over HTTP with `credential` (none when null) and extra headers. */
async function send(
  c: Case,
  ids: Ids,
  credential: string | null,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { route } = routeOf(c);
  const request = c.request(ids);
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = request.params?.[name];
    if (value === undefined) throw new Error(`${nameOf(c)}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
  const url = new URL(`/v1${path}`, h.url);
  for (const [key, values] of Object.entries(request.query ?? {})) {
    for (const value of [values].flat()) url.searchParams.append(key, value);
  }
  const hasBody = request.body !== undefined;
  const response = await fetch(url, {
    method: route.method,
    headers: {
      ...(credential === null ? {} : { authorization: `Bearer ${credential}` }),
      ...(hasBody ? { "content-type": route.contentType ?? "application/json" } : {}),
      ...request.headers,
      ...headers,
    },
    ...(hasBody ? { body: JSON.stringify(request.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, text, json: text ? (JSON.parse(text) as unknown) : null };
}

function errorsOf(answer: Answer): unknown {
  return (answer.json as { errors?: unknown } | null)?.errors;
}

/** A platform service token (every tenant, every permission unless told). */
function platformToken(permissions: readonly Permission[] = ALL_PERMISSIONS): Promise<string> {
  return h.token({ kind: "service", sub: "platform-ops", tenants: "*", permissions });
}

/**
 * Every row of a tenant's, straight from the tables (the owner's connection: row-level security does
 * not apply). A key's `last_used_at` moves with every call and is left out.
 */
async function tenantRows(tenant = "alpha"): Promise<Record<string, unknown[]>> {
  const em = h.em();
  const snapshot: Record<string, unknown[]> = {};
  for (const table of [
    "contacts",
    "contact_events",
    "accounts",
    "account_channels",
    "roles",
    "imports",
    "import_errors",
    "api_keys",
    "tax_id_reveals",
  ]) {
    const rows = await em
      .getConnection()
      .execute<{ row: string }[]>(
        `select (to_jsonb(t) - 'last_used_at')::text as row from ${table} t where tenant_id = ? order by 1`,
        [tenant],
      );
    snapshot[table] = rows.map((r) => r.row);
  }
  snapshot.tenant = await em
    .getConnection()
    .execute(`select to_jsonb(t)::text from tenants t where id = ?`, [tenant]);
  return snapshot;
}

describe("the REST access matrix", () => {
  let alpha: Ids;

  beforeAll(async () => {
    alpha = await seed(h.alpha, "alpha");
  });

  it("has a case for every REST route, and each case names a route", () => {
    // routeOf throws for a case whose route is not served.
    const covered = new Set(CASES.map((c) => `${routeOf(c).route.method} ${routeOf(c).route.path}`));
    expect([...ROUTES.keys()].filter((route) => !covered.has(route))).toEqual([]);
  });

  it("marks exactly the platform routes as needing a platform token", () => {
    for (const c of CASES) {
      expect(c.needs === "platform token", nameOf(c)).toBe(routeOf(c).route.platform === true);
    }
  });

  describe("tenant isolation (BOLA): bravo with alpha's ids", () => {
    let bravoKey: string;

    beforeAll(async () => {
      bravoKey = await h.keyWith("bravo", ALL_PERMISSIONS);
    });

    /** bravo's credential of the case's kind (a bravo user named like alpha's). */
    async function bravoCredential(c: Case): Promise<[string, Record<string, string>]> {
      if (c.needs === "platform token") return [await platformToken(), { "x-tenant-id": "bravo" }];
      if (c.needs === "user token") {
        const sub = c.user === "new" ? `new-${suffix()}` : alpha.user;
        return [await h.token({ kind: "user", sub, tenant: "bravo" }), {}];
      }
      return [bravoKey, {}];
    }

    it.each(CASES.map((c) => [nameOf(c), c] as const))(
      "%s: not found or bravo's own, nothing of alpha shown or changed",
      async (_name, c) => {
        const before = await tenantRows();
        const [credential, headers] = await bravoCredential(c);
        const answer = await send(c, alpha, credential, headers);
        if (c.bola === "own data") {
          expect(answer.status, answer.text).toBe(routeOf(c).route.status ?? 200);
        } else {
          expect(answer.status, answer.text).toBe(c.bola.status);
          expect(errorsOf(answer)).toEqual([
            { reason: c.bola.status === 400 ? "unknown_reference" : "not_found", field: c.bola.field },
          ]);
        }
        // bravo holds contacts:unmask-tax-id, and sees its own tax IDs: alpha's show by their ids.
        const secrets = [
          alpha.contact,
          alpha.twin,
          alpha.delegate,
          alpha.account,
          alpha.emptyAccount,
          alpha.channel,
          alpha.role,
          alpha.import,
          alpha.apiKey,
          alpha.externalId,
          alpha.accountRef.key,
        ];
        for (const secret of secrets) expect(answer.text).not.toContain(secret);
        expect(await tenantRows()).toEqual(before);
      },
    );
  });

  describe("permissions: an alpha credential holding everything but what the route needs", () => {
    it.each(CASES.map((c) => [`${nameOf(c)} without ${c.needs}`, c] as const))(
      "%s is a 403 and changes nothing",
      async (_name, c) => {
        // A key with every permission is not a user token, nor a platform credential.
        const credential =
          c.needs === "user token" || c.needs === "platform token"
            ? await h.keyWith("alpha", ALL_PERMISSIONS)
            : await h.keyWith("alpha", allBut(c.needs));
        const before = await tenantRows();
        const answer = await send(c, alpha, credential);
        expect(answer.status, answer.text).toBe(403);
        expect(errorsOf(answer)).toEqual([{ reason: "forbidden", field: c.field ?? null }]);
        expect(await tenantRows()).toEqual(before);
      },
    );

    it("refuses every write to a read-only key", async () => {
      const reader = await h.keyWith("alpha", ["contacts:read", "accounts:read"]);
      const before = await tenantRows();
      const writes = CASES.filter((c) => routeOf(c).route.method !== "GET" && c.field === undefined);
      expect(writes.length).toBeGreaterThan(20);
      for (const c of writes) {
        const answer = await send(c, alpha, reader);
        expect(answer.status, nameOf(c)).toBe(403);
        expect(errorsOf(answer), nameOf(c)).toEqual([{ reason: "forbidden", field: null }]);
      }
      expect(await tenantRows()).toEqual(before);
    });

    it("refuses /v1/admin/* to a key without admin", async () => {
      const key = await h.keyWith("alpha", allBut("admin"));
      const admin = CASES.filter((c) => c.route.split(" ")[1]?.startsWith("/admin/"));
      expect(new Set(admin.map((c) => c.route)).size).toBe(
        [...ROUTES.keys()].filter((r) => r.split(" ")[1]?.startsWith("/admin/")).length,
      );
      for (const c of admin) {
        const answer = await send(c, alpha, key);
        expect(answer.status, nameOf(c)).toBe(403);
        expect((errorsOf(answer) as { reason: string }[])[0]?.reason, nameOf(c)).toBe("forbidden");
      }
    });

    it("refuses the platform routes to a tenant API key, and to a platform token without admin", async () => {
      const platformCases = CASES.filter((c) => routeOf(c).route.platform);
      expect(platformCases.length).toBeGreaterThan(0);
      const tenantKey = await h.keyWith("alpha", ALL_PERMISSIONS);
      const noAdmin = await platformToken(allBut("admin"));
      for (const c of platformCases) {
        for (const credential of [tenantKey, noAdmin]) {
          const answer = await send(c, alpha, credential);
          expect(answer.status, nameOf(c)).toBe(403);
          expect(errorsOf(answer)).toEqual([{ reason: "forbidden", field: null }]);
        }
      }
    });
  });

  describe("credentials", () => {
    it.each([...ROUTES.keys()].map((route) => [route] as const))(
      "%s answers 401 without a credential and with an unknown one",
      async (route) => {
        const c = CASES.find((x) => x.route === route);
        if (!c) throw new Error(`${route} has no case`);
        const before = await tenantRows();
        for (const credential of [null, "ck_unknown", "not-a-token"]) {
          const answer = await send(c, alpha, credential);
          expect(answer.status, `${String(credential)}: ${answer.text}`).toBe(401);
          expect(errorsOf(answer)).toEqual([{ reason: "unauthenticated", field: null }]);
        }
        expect(await tenantRows()).toEqual(before);
      },
    );

    it("serves the OpenAPI document without a credential", async () => {
      expect((await fetch(`${h.url}/v1/openapi.json`)).status).toBe(200);
    });
  });
});

describe("tax IDs over REST without contacts:unmask-tax-id", () => {
  let viewer: ContactsClient;
  let viewerKey: string;

  beforeAll(async () => {
    viewer = await h.tenantClient("delta");
    viewerKey = await h.keyWith("delta", allBut("contacts:unmask-tax-id"));
  });

  async function viewerCredential(c: Case, ids: Ids): Promise<[string, Record<string, string>]> {
    if (c.needs === "platform token") return [await platformToken(), { "x-tenant-id": "delta" }];
    if (c.needs === "user token") {
      const sub = c.user === "new" ? `new-${suffix()}` : ids.user;
      return [await h.token({ kind: "user", sub, tenant: "delta" }), {}];
    }
    return [viewerKey, {}];
  }

  it("shows the clear tax ID to a key that may unmask it (the fixture does hold one)", async () => {
    const ids = await seed(viewer, "delta");
    const unmasker = await h.keyWith("delta", ["contacts:read", "contacts:unmask-tax-id"]);
    const c = CASES.find((x) => x.route === "GET /contacts/{id}");
    if (!c) throw new Error("no GET /contacts/{id} case");
    const answer = await send(c, ids, unmasker);
    expect(answer.status).toBe(200);
    expect((answer.json as { taxId: string }).taxId).toBe(TAX_ID);
  });

  it.each(CASES.map((c) => [nameOf(c), c] as const))(
    "%s on the caller's own data answers as documented, masked",
    async (_name, c) => {
      const ids = await seed(viewer, "delta");
      const [credential, headers] = await viewerCredential(c, ids);
      const answer = await send(c, ids, credential, headers);
      // Only a filter on the tax ID itself needs the permission (a match would tell the value).
      const expected = c.needs === "contacts:unmask-tax-id" ? 403 : (routeOf(c).route.status ?? 200);
      expect(answer.status, answer.text).toBe(expected);
      for (const fragment of CLEAR_FRAGMENTS) expect(answer.text).not.toContain(fragment);
      for (const [, shown] of answer.text.matchAll(/"taxId":"([^"]*)"/g)) expect(shown).toMatch(MASKED);
    },
  );
});

/**
 * The CSV routes under /v1 stream their bodies, so they are plain Hono routes, not procedures (they
 * are not in `procedureRoutes()`); the same rules hold for them.
 */
describe("the CSV routes under /v1", () => {
  let alpha: Ids;
  let bravoKey: string;

  beforeAll(async () => {
    alpha = await seed(await h.tenantClient("echo"), "echo");
    bravoKey = await h.keyWith("bravo", ALL_PERMISSIONS);
  });

  const csv = "First Name,Last Name\nAda,Lovelace\n";
  const CSV_CASES: {
    name: string;
    needs: Permission;
    field?: string;
    request: (t: Ids) => { method: string; path: string; body?: string };
  }[] = [
    {
      name: "POST /v1/imports",
      needs: "imports:write",
      request: () => ({ method: "POST", path: "/v1/imports", body: csv }),
    },
    {
      name: "GET /v1/imports/{id}/failed-rows.csv",
      needs: "imports:write",
      request: (t) => ({ method: "GET", path: `/v1/imports/${t.import}/failed-rows.csv` }),
    },
    {
      name: "GET /v1/exports/contacts.csv",
      needs: "contacts:read",
      request: (t) => ({
        method: "GET",
        path: `/v1/exports/contacts.csv?search=${encodeURIComponent(JSON.stringify({ ids: [t.contact] }))}`,
      }),
    },
    {
      name: "GET /v1/exports/contacts.csv (by tax ID)",
      needs: "contacts:unmask-tax-id",
      field: "search.taxId",
      request: () => ({
        method: "GET",
        path: `/v1/exports/contacts.csv?search=${encodeURIComponent(JSON.stringify({ taxId: TAX_ID }))}`,
      }),
    },
  ];

  async function sendCsv(
    request: { method: string; path: string; body?: string },
    credential: string | null,
  ): Promise<Answer> {
    const response = await fetch(`${h.url}${request.path}`, {
      method: request.method,
      headers: {
        ...(credential === null ? {} : { authorization: `Bearer ${credential}` }),
        ...(request.body === undefined ? {} : { "content-type": "text/csv" }),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const text = await response.text();
    const json = response.headers.get("content-type")?.includes("json")
      ? (JSON.parse(text) as unknown)
      : null;
    return { status: response.status, text, json };
  }

  it("keep another tenant's import and contacts out of reach", async () => {
    const before = await tenantRows("echo");
    const failedRows = await sendCsv(CSV_CASES[1]?.request(alpha) ?? { method: "", path: "" }, bravoKey);
    expect(failedRows.status).toBe(404);
    expect(errorsOf(failedRows)).toEqual([{ reason: "not_found", field: "id" }]);

    const exported = await sendCsv(CSV_CASES[2]?.request(alpha) ?? { method: "", path: "" }, bravoKey);
    expect(exported.status).toBe(200);
    for (const secret of [alpha.contact, alpha.externalId, alpha.email]) {
      expect(exported.text).not.toContain(secret);
    }

    const onTheirAccount = await sendCsv(
      { method: "POST", path: `/v1/imports?accountId=${alpha.account}`, body: csv },
      bravoKey,
    );
    expect(onTheirAccount.status, onTheirAccount.text).toBe(400);
    expect(errorsOf(onTheirAccount)).toEqual([{ reason: "unknown_reference", field: "accountId" }]);
    expect(await tenantRows("echo")).toEqual(before);
  });

  it.each(CSV_CASES.map((c) => [c.name, c] as const))(
    "%s: 403 without its permission, 401 without a credential",
    async (_name, c) => {
      const lacking = await sendCsv(c.request(alpha), await h.keyWith("echo", allBut(c.needs)));
      expect(lacking.status, lacking.text).toBe(403);
      expect(errorsOf(lacking)).toEqual([{ reason: "forbidden", field: c.field ?? null }]);
      for (const credential of [null, "ck_unknown"]) {
        const answer = await sendCsv(c.request(alpha), credential);
        expect(answer.status).toBe(401);
        expect(errorsOf(answer)).toEqual([{ reason: "unauthenticated", field: null }]);
      }
    },
  );

  it("export tax IDs masked to a key without contacts:unmask-tax-id", async () => {
    const key = await h.keyWith("echo", allBut("contacts:unmask-tax-id"));
    const exported = await sendCsv(CSV_CASES[2]?.request(alpha) ?? { method: "", path: "" }, key);
    expect(exported.status).toBe(200);
    expect(exported.text).toContain("***-**-3333");
    for (const fragment of CLEAR_FRAGMENTS) expect(exported.text).not.toContain(fragment);
  });
});
