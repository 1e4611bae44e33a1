import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { iterate, pages } from "@contacts/client/client";
import type { ContactInput } from "@contacts/domain/contact";
import { ContactSearchInput } from "@contacts/domain/search";

import { freeTextQuery, freeTextTerms, freeTextWords, searchCursor, searchQuery } from "./contact-queries.js";
import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

/** Ids of the accounts and contacts alpha creates; bravo gets look-alikes that must never show up. */
const ids = { root: "", child: "", grandchild: "", greatGrandchild: "", other: "" };
const contacts: Record<string, string> = {};

function person(firstName: string, lastName: string, extra: Partial<ContactInput> = {}): ContactInput {
  return { subtype: "person", firstName, lastName, ...extra };
}

const address = (city: string, state: string, country: string) => ({
  line1: "1 Main St",
  city,
  state,
  postalCode: "12345",
  country,
  label: "work" as const,
});

beforeAll(async () => {
  h = await startHarness();
  for (const client of [h.alpha, h.bravo]) {
    const root = await client.accounts.create.mutate({
      account: { type: "CLOUD", key: "root", name: "Acme Holdings" },
    });
    const child = await client.accounts.create.mutate({
      account: { type: "CLOUD", key: "child", name: "Acme Europe", parentId: root.id },
    });
    const grandchild = await client.accounts.create.mutate({
      account: { type: "CLOUD", key: "grandchild", name: "Acme France", parentId: child.id },
    });
    const greatGrandchild = await client.accounts.create.mutate({
      account: { type: "CLOUD", key: "ggc", name: "Acme Paris", parentId: grandchild.id },
    });
    const other = await client.accounts.create.mutate({
      account: { type: "CLOUD", key: "other", name: "Globex" },
    });
    const mine = client === h.alpha;
    if (mine)
      Object.assign(ids, {
        root: root.id,
        child: child.id,
        grandchild: grandchild.id,
        greatGrandchild: greatGrandchild.id,
        other: other.id,
      });
    const seed: [string, ContactInput][] = [
      [
        "ada",
        person("Ada", "Lovelace", {
          accountId: root.id,
          roles: ["PRIMARY"],
          nickname: "Countess",
          jobTitle: "Analyst",
          username: "ada",
          group: "Founders",
          emails: [{ address: "Ada@Example.com" }, { address: "countess@engines.org" }],
          addresses: [address("London", "Greater London", "GB")],
        }),
      ],
      [
        "grace",
        person("Grace", "Hopper", {
          accountId: child.id,
          roles: ["TECHNICAL", "BILLING"],
          jobTitle: "Admiral",
          username: "grace",
          group: "FOUNDERS",
          emails: [{ address: "grace@navy.mil" }],
          addresses: [address("Arlington", "VA", "US"), address("New York", "NY", "US")],
        }),
      ],
      [
        "alan",
        person("Alan", "Turing", {
          accountId: grandchild.id,
          roles: ["TECHNICAL"],
          jobTitle: "Analyst",
          nickname: "Prof",
          group: "founders-emeritus",
          emails: [{ address: "alan@bletchley.uk" }],
          addresses: [address("Manchester", "Greater Manchester", "GB")],
        }),
      ],
      [
        "alana",
        person("Alana", "Turner", {
          accountId: greatGrandchild.id,
          roles: ["BILLING"],
          status: "inactive",
          emails: [{ address: "alana@paris.fr" }],
          addresses: [address("Paris", "IDF", "FR")],
        }),
      ],
      [
        "ken",
        person("Ken", "Thompson", {
          accountId: other.id,
          roles: ["ADMINISTRATIVE"],
          status: "deceased",
          emails: [{ address: "ken@bell-labs.com" }],
          addresses: [address("New York", "NY", "US")],
        }),
      ],
      [
        "co",
        {
          subtype: "company",
          companyName: "Lovelace Engines Ltd",
          accountId: root.id,
          emails: [{ address: "info@engines.org" }],
        },
      ],
    ];
    for (const [name, contact] of seed) {
      const created = await client.contacts.create.mutate({ contact });
      if (mine) contacts[name] = created.id;
    }
  }
});

afterAll(async () => {
  await h.close();
});

/** The names (alpha's seed keys) a search finds, in order. */
async function found(input: Parameters<typeof h.alpha.contacts.search.query>[0]): Promise<string[]> {
  const page = await h.alpha.contacts.search.query(input);
  const byId = new Map(Object.entries(contacts).map(([name, id]) => [id, name]));
  return page.items.map((item) => byId.get(item.id) ?? `foreign:${item.id}`);
}

describe("contacts.search filters", () => {
  it.each([
    ["ids", { ids: [] as string[] }, ["ada", "alan"]],
    ["status list", { status: ["inactive", "deceased"] }, ["ken", "alana"]],
    ["first name prefix, any case", { firstName: "ala" }, ["alan", "alana"]],
    ["last name prefix", { lastName: "TUR" }, ["alana", "alan"]],
    ["nickname prefix", { nickname: "count" }, ["ada"]],
    ["job title prefix", { jobTitle: "analyst" }, ["ada", "alan"]],
    ["role", { role: "TECHNICAL" }, ["grace", "alan"]],
    ["email, any of a contact's, any case", { emailAddress: "COUNTESS@engines.org" }, ["ada"]],
    ["account name prefix", { accountName: "acme e" }, ["grace"]],
    ["account ids", { accountIds: [] as string[] }, ["ada", "co", "ken"]],
    ["numbers", { numbers: [1, 3] }, ["ada", "alan"]],
    ["city of any address", { city: "new york" }, ["grace", "ken"]],
    ["state", { state: "greater manchester" }, ["alan"]],
    ["country", { country: "gb" }, ["ada", "alan"]],
    ["group, the whole value, any case", { group: "founders" }, ["ada", "grace"]],
  ] as const)("%s", async (_name, filter, expected) => {
    const input: Record<string, unknown> = { ...filter };
    if ("ids" in filter) input.ids = [contacts.ada, contacts.alan];
    if ("accountIds" in filter) input.accountIds = [ids.root, ids.other];
    expect((await found(input as never)).sort()).toEqual([...expected].sort());
  });

  it("combines filters with AND", async () => {
    expect(await found({ role: "TECHNICAL", jobTitle: "ana", country: "GB" })).toEqual(["alan"]);
    expect(await found({ group: " Founders ", role: "TECHNICAL" })).toEqual(["grace"]);
    expect(await found({ group: "founders", q: "lovelace" })).toEqual(["ada"]);
    expect(
      await found({ group: "founders-emeritus", sort: { field: "createdAt", direction: "desc" } }),
    ).toEqual(["alan"]);
    expect(await found({ role: "TECHNICAL", city: "london" })).toEqual([]);
  });

  it("finds free text by prefix, with a typo, across names, emails and company name", async () => {
    expect(await found({ q: "lovel" })).toEqual(["ada", "co"]);
    expect(await found({ q: "hoper" })).toEqual(["grace"]);
    expect(await found({ q: "bletchley" })).toEqual(["alan"]);
    expect(await found({ q: "engines" })).toEqual(["ada", "co"]);
  });

  it("takes two neighbouring letters swapped as one typo, every word of the text (AND), digits as nothing", async () => {
    expect(await found({ q: "lovleace" })).toEqual(["ada", "co"]);
    expect(await found({ q: "ada lovel" })).toEqual(["ada"]);
    expect(await found({ q: "Lovelace, Engines!" })).toEqual(["ada", "co"]);
    expect(await found({ q: "grace lovelace" })).toEqual([]);
    expect(await found({ q: "12345" })).toEqual([]);
  });

  it("finds a word added by an update, through the tenant's word dictionary", async () => {
    expect(await found({ q: "zanzibar" })).toEqual([]);
    await h.alpha.contacts.update.mutate({
      id: contacts.ken ?? "",
      contact: person("Ken", "Thompson", {
        accountId: ids.other,
        roles: ["ADMINISTRATIVE"],
        status: "deceased",
        emails: [{ address: "ken@bell-labs.com" }, { address: "ken@zanzibar.example" }],
        addresses: [address("New York", "NY", "US")],
      }),
    });
    expect(await found({ q: "zanzibar" })).toEqual(["ken"]);
    expect(await found({ q: "zanzibra" })).toEqual(["ken"]);
  });

  it("sorts by last name, first name, created and updated, both ways, the id breaking ties", async () => {
    // A company sorts by its company name: "lovelace" < "lovelace engines ltd".
    expect(await found({ accountIds: [ids.root, ids.child, ids.grandchild, ids.other] })).toEqual([
      "grace",
      "ada",
      "co",
      "ken",
      "alan",
    ]);
    expect(await found({ status: ["active"], sort: { field: "firstName", direction: "desc" } })).toEqual([
      "co",
      "grace",
      "alan",
      "ada",
    ]);
    const created = await found({ sort: { field: "createdAt" } });
    expect(created).toEqual(["ada", "grace", "alan", "alana", "ken", "co"]);
    expect(await found({ sort: { field: "createdAt", direction: "desc" } })).toEqual([...created].reverse());
    await h.alpha.contacts.update.mutate({
      id: contacts.ada ?? "",
      contact: person("Ada", "Lovelace", {
        jobTitle: "Analyst",
        nickname: "Countess",
        roles: ["PRIMARY"],
        accountId: ids.root,
        username: "ada",
        group: "Founders",
        emails: [{ address: "Ada@Example.com" }, { address: "countess@engines.org" }],
        addresses: [address("London", "Greater London", "GB")],
      }),
    });
    expect((await found({ sort: { field: "updatedAt", direction: "desc" } }))[0]).toBe("ada");
  });

  it("returns each contact exactly as contacts.get does", async () => {
    const full = await h.alpha.contacts.create.mutate({
      contact: person("Mary", "Somerville", {
        dateOfBirth: "1780-12-26",
        gender: "female",
        phones: [{ number: "+44 20 7946 0000", label: "home", primary: true }],
        addresses: [address("Jedburgh", "Scottish Borders", "GB")],
        social: { website: "https://example.org/mary" },
        customFields: { field: "astronomy" },
        notificationPreferences: { doNotCall: true },
        taxId: "987-65-4321",
      }),
    });
    const [item] = (await h.alpha.contacts.search.query({ ids: [full.id] })).items;
    expect(item).toEqual(await h.alpha.contacts.get.query({ id: full.id }));
    expect(item?.dateOfBirth).toBe("1780-12-26");
    expect(item?.taxId).toBe("***-**-4321");
    await h.alpha.contacts.delete.mutate({ id: full.id });
  });

  it("projects the asked fields", async () => {
    const page = await h.alpha.contacts.search.query({ lastName: "hopper", fields: ["lastName", "emails"] });
    expect(page.items).toEqual([
      {
        id: contacts.grace,
        lastName: "Hopper",
        emails: [{ address: "grace@navy.mil", label: "work", primary: false }],
      },
    ]);
  });

  it("never shows another tenant's contacts, whatever the filter", async () => {
    for (const input of [
      {},
      { q: "lovelace" },
      { lastName: "turing" },
      { city: "paris" },
      { accountName: "acme" },
    ]) {
      expect((await found(input)).filter((name) => name.startsWith("foreign:"))).toEqual([]);
    }
  });
});

describe("the group filter", () => {
  it("pages a group in every sort, each member once, and never another tenant's", async () => {
    for (const field of ["lastName", "firstName", "createdAt", "updatedAt"] as const) {
      const seen: string[] = [];
      for await (const c of iterate(h.alpha.contacts.search, {
        group: "FOUNDERS",
        limit: 1,
        sort: { field },
      }))
        seen.push(c.id);
      expect(seen.sort()).toEqual([contacts.ada, contacts.grace].sort());
    }
  });

  it("is a group's value as a contact holds one: 2 to 50 characters, 400 naming `group` otherwise", async () => {
    for (const [group, reason] of [
      ["x", "too_short"],
      ["x".repeat(51), "too_long"],
      [42, "invalid"],
    ] as const) {
      const error = await rejection(h.alpha.contacts.search.query({ group } as never));
      expect([error.status, error.errors]).toEqual([400, [{ reason, field: "group" }]]);
    }
  });
});

describe("contacts.list", () => {
  it("lists one account's contacts with the role, username and email filters", async () => {
    const list = async (input: Record<string, unknown>) =>
      (await h.alpha.contacts.list.query({ accountId: ids.root, ...input })).items.map((c) => c.id);
    expect(await list({})).toEqual([contacts.ada, contacts.co]);
    expect(await list({ role: "PRIMARY" })).toEqual([contacts.ada]);
    expect(await list({ username: "ADA" })).toEqual([contacts.ada]);
    expect(await list({ emailAddress: "INFO@engines.org" })).toEqual([contacts.co]);
    expect(await list({ role: "BILLING" })).toEqual([]);
  });

  it("answers 404 for another tenant's account", async () => {
    const theirs = (await h.bravo.accounts.list.query({})).items[0];
    const error = await rejection(h.alpha.contacts.list.query({ accountId: theirs?.id ?? "" }));
    expect(error.status).toBe(404);
    expect(error.errors).toEqual([{ reason: "not_found", field: "accountId" }]);
  });
});

describe("contacts.descendants", () => {
  it("finds the contacts of an account and its descendants to any depth", async () => {
    const of = async (accountId: string) =>
      (await h.alpha.contacts.descendants.query({ accountId })).items.map((c) => c.id).sort();
    expect(await of(ids.root)).toEqual(
      [contacts.ada, contacts.grace, contacts.alan, contacts.alana, contacts.co].sort(),
    );
    expect(await of(ids.child)).toEqual([contacts.grace, contacts.alan, contacts.alana].sort());
    expect(await of(ids.greatGrandchild)).toEqual([contacts.alana]);
    const paged: string[] = [];
    for await (const c of iterate(h.alpha.contacts.descendants, { accountId: ids.root, limit: 2 }))
      paged.push(c.id);
    expect(paged.sort()).toEqual(await of(ids.root));
  });
});

describe("paging", () => {
  let client: typeof h.alpha;
  const TOTAL = 2_500;

  beforeAll(async () => {
    client = await h.tenantClient("paging");
    const account = await client.accounts.create.mutate({
      account: { type: "CLOUD", key: "big", name: "Big" },
    });
    // Few distinct last names, so the id tie-breaker decides most of the order.
    await h
      .em()
      .getConnection()
      .execute(
        `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, account_id, roles, status,
         created_at, created_by, updated_at, updated_by)
       select 'paging', gen_random_uuid(), n, 'person', 'First' || (n % 50), 'Last' || (n % 7), ?::uuid,
         case when n % 3 = 0 then array['BILLING'] else array[]::text[] end, 'active',
         now() - (n || ' seconds')::interval, 'test', now(), 'test'
       from generate_series(1, ?) n`,
        [account.id, TOTAL],
      );
    await h.em().getConnection().execute("update tenants set contact_seq = ? where id = 'paging'", [TOTAL]);
  });

  it("walks a few thousand contacts, each exactly once and in order, for every sort", async () => {
    for (const sort of [
      { field: "lastName", direction: "asc" },
      { field: "firstName", direction: "desc" },
      { field: "createdAt", direction: "asc" },
    ] as const) {
      const seen: { id: string; key: string }[] = [];
      for await (const page of pages(client.contacts.search, { sort, limit: 333 })) {
        for (const c of page.items) {
          const key =
            sort.field === "createdAt"
              ? (c.createdAt ?? "")
              : ((sort.field === "lastName" ? c.lastName : c.firstName)?.toLowerCase() ?? "");
          seen.push({ id: c.id, key });
        }
      }
      expect(seen).toHaveLength(TOTAL);
      expect(new Set(seen.map((s) => s.id)).size).toBe(TOTAL);
      const sorted = [...seen].sort((a, b) => {
        const byKey = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
        const byId = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
        return (sort.direction === "asc" ? 1 : -1) * (byKey || byId);
      });
      expect(seen.map((s) => s.id)).toEqual(sorted.map((s) => s.id));
    }
  });

  it("pages a role filter the same whether it collects the matches or walks the sort order", async () => {
    // The API picks one of the two plans from how common the value is (collectRareMatches); both
    // must give the same pages. Run here as the owner, with the tenant named in the query.
    for (const sort of [
      { field: "lastName", direction: "asc" },
      { field: "createdAt", direction: "desc" },
    ] as const) {
      const walk = async (collect: boolean): Promise<string[]> =>
        (
          await everyPageOfPlan(
            "paging",
            ContactSearchInput.parse({ role: "BILLING", sort, limit: 300 }),
            null,
            collect,
          )
        ).ids;
      const collected = await walk(true);
      expect(collected).toHaveLength(Math.floor(TOTAL / 3));
      expect(await walk(false)).toEqual(collected);
    }
  });

  it("neither skips nor repeats a contact when one is added while paging a list", async () => {
    const account = (await client.accounts.list.query({})).items[0];
    const accountId = account?.id ?? "";
    const seen: string[] = [];
    let added = "";
    for await (const page of pages(client.contacts.list, { accountId, limit: 400 })) {
      seen.push(...page.items.map((c) => c.id));
      if (!added)
        added = (await client.contacts.create.mutate({ contact: person("New", "Comer", { accountId }) })).id;
    }
    expect(seen).toHaveLength(TOTAL + 1);
    expect(new Set(seen).size).toBe(TOTAL + 1);
    expect(seen.at(-1)).toBe(added);
    await client.contacts.delete.mutate({ id: added });
  });

  it.each([0, -1, 1001, 1.5])("answers 400 on `limit` for %s", async (limit) => {
    for (const call of [
      () => client.contacts.search.query({ limit }),
      () => client.contacts.list.query({ accountId: ids.root, limit }),
      () => client.contacts.descendants.query({ accountId: ids.root, limit }),
    ]) {
      const error = await rejection(call());
      expect(error.status).toBe(400);
      expect(error.errors.map((e) => e.field)).toEqual(["limit"]);
    }
  });

  it("answers 400 on `cursor` for a cursor that is not one, or belongs to another sort or list", async () => {
    const first = await client.contacts.search.query({ limit: 10 });
    const listCursor =
      (
        await client.contacts.list.query({
          accountId: (await client.accounts.list.query({})).items[0]?.id ?? "",
          limit: 10,
        })
      ).nextCursor ?? "";
    for (const call of [
      () => client.contacts.search.query({ cursor: "not-a-cursor" }),
      () => client.contacts.search.query({ cursor: first.nextCursor ?? "", sort: { field: "createdAt" } }),
      () => client.contacts.search.query({ cursor: listCursor }),
      () => client.contacts.list.query({ accountId: ids.root, cursor: first.nextCursor ?? "" }),
    ]) {
      const error = await rejection(call());
      expect(error.status).toBe(400);
      expect(error.errors).toEqual([{ reason: "invalid", field: "cursor" }]);
    }
  });

  it("refuses another tenant's cursor and an edited one, and keeps the position unreadable", async () => {
    const name = `Opaquename${Date.now()}`;
    for (let i = 0; i < 3; i++)
      await h.bravo.contacts.create.mutate({
        contact: { subtype: "person", firstName: `B${i}`, lastName: name },
      });
    const firstPage = await h.bravo.contacts.search.query({ lastName: name.toLowerCase(), limit: 1 });
    const foreign = firstPage.nextCursor;
    if (!foreign) throw new Error("bravo has no second page");
    // The sort key (a last name) does not show in the cursor.
    expect(Buffer.from(foreign, "base64url").toString("latin1")).not.toContain(name);
    const own = (await client.contacts.search.query({ limit: 1 })).nextCursor ?? "";
    const bytes = Buffer.from(own, "base64url");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    for (const cursor of [foreign, bytes.toString("base64url")]) {
      const error = await rejection(client.contacts.search.query({ limit: 1, cursor }));
      expect(error.status).toBe(400);
      expect(error.errors).toEqual([{ reason: "invalid", field: "cursor" }]);
    }
    // The same cursor goes on in its own tenant.
    const next = await h.bravo.contacts.search.query({
      lastName: name.toLowerCase(),
      limit: 1,
      cursor: foreign,
    });
    expect(next.items).toHaveLength(1);
    expect(next.items[0]?.id).not.toBe(firstPage.items[0]?.id);
  });
});

type SearchQueryInput = Parameters<Harness["alpha"]["contacts"]["search"]["query"]>[0];

/** Every id a search pages through the API, in order. */
async function everyPageOf(client: Harness["alpha"], input: SearchQueryInput): Promise<string[]> {
  const seen: string[] = [];
  for await (const page of pages(client.contacts.search, input)) seen.push(...page.items.map((c) => c.id));
  return seen;
}

/** The numbers 1 to `total`: a filter that keeps every contact of a tenant numbered from 1. */
const numbersUpTo = (total: number): number[] => Array.from({ length: total }, (_, i) => i + 1);

/**
 * Every id of a search paged through one plan of `searchQuery` (`collect` or not), run as the owner
 * with the tenant named in the query, and the SQL of each page.
 */
async function everyPageOfPlan(
  tenantId: string,
  input: ContactSearchInput,
  freeText: string[][] | null,
  collect: boolean,
): Promise<{ ids: string[]; sql: string[] }> {
  const connection = h.em().getConnection();
  const ids: string[] = [];
  const sql: string[] = [];
  let cursor: string | undefined;
  do {
    const query = searchQuery(tenantId, { ...input, cursor }, null, freeText, collect);
    sql.push(query.sql);
    const rows = await connection.execute<{ id: string; sort_key: string }[]>(query.sql, query.params);
    const page = rows.slice(0, input.limit);
    ids.push(...page.map((r) => r.id));
    const last = page.at(-1);
    cursor = rows.length > input.limit && last ? searchCursor(tenantId, input, last) : undefined;
  } while (cursor);
  return { ids, sql };
}

/** The tenant's postings hold exactly each contact's words and places under its sort key. */
async function expectPostingsOfContacts(tenantId: string): Promise<void> {
  const keys = (c: string) =>
    `contact_posting_keys(${c}.search_words, ${c}.city_keys, ${c}.state_keys, ${c}.country_keys)`;
  const [check] = await h
    .em()
    .getConnection()
    .execute<{ postings: string; keys: string; strays: string }[]>(
      `select (select count(*) from search_postings where tenant_id = ?) as postings,
         (select sum(cardinality(${keys("c")})) from contacts c where tenant_id = ?) as keys,
         (select count(*) from search_postings p where p.tenant_id = ? and not exists (
            select 1 from contacts c where c.tenant_id = p.tenant_id and c.id = p.contact_id
              and c.sort_last = p.sort_last and p.word = any(${keys("c")}))) as strays`,
      [tenantId, tenantId, tenantId],
    );
  expect(Number(check?.postings)).toBeGreaterThan(0);
  expect(Number(check?.postings)).toBe(Number(check?.keys));
  expect(Number(check?.strays)).toBe(0);
}

describe("a lone place filter through the postings (last-name order)", () => {
  let client: typeof h.alpha;
  const TOTAL = 600;

  beforeAll(async () => {
    client = await h.tenantClient("places");
    // Cities in mixed case; everyone in Shelbyville also has a home in Springfield (a second city,
    // the same state, perhaps another country); few distinct last names, so the id breaks most ties.
    await h
      .em()
      .getConnection()
      .execute(
        `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, addresses, status,
         created_at, created_by, updated_at, updated_by)
       select 'places', gen_random_uuid(), n, 'person',
         (array['Avery', 'Blake', 'Casey', 'Devon', 'Emery', 'Flynn', 'Placido'])[1 + n % 7], 'Place' || (n % 4),
         jsonb_build_array(jsonb_build_object('city', (array['Springfield', 'SHELBYVILLE', 'Ogdenville'])[1 + n % 3],
             'state', 'IL', 'country', case when n % 5 = 0 then 'CA' else 'US' end, 'label', 'work'))
           || case when n % 3 = 1 then jsonb_build_array(jsonb_build_object('city', 'springfield', 'state', 'IL',
                'country', 'US', 'label', 'home')) else '[]'::jsonb end,
         'active', now(), 'test', now(), 'test'
       from generate_series(1, ?) n`,
        [TOTAL],
      );
    await h.em().getConnection().execute("update tenants set contact_seq = ? where id = 'places'", [TOTAL]);
  });

  const everyPage = (input: SearchQueryInput) => everyPageOf(client, input);

  // A filter that keeps every contact and makes the search take the place's GIN index instead.
  const everyNumber = () => numbersUpTo(TOTAL);

  it("pages a city, state or country exactly as the place index does, any case, both ways", async () => {
    for (const direction of ["asc", "desc"] as const) {
      const sort = { field: "lastName", direction } as const;
      for (const [filter, count] of [
        [{ city: "springfield" }, (2 * TOTAL) / 3],
        [{ city: "Shelbyville" }, TOTAL / 3],
        [{ state: "il" }, TOTAL],
        [{ country: "CA" }, TOTAL / 5],
        [{ city: "Capital City" }, 0],
      ] as const) {
        const input = ContactSearchInput.parse({ ...filter, sort, limit: 41 });
        // The plan under test is the one taken.
        expect(searchQuery("places", input, null).sql).toContain("search_postings");
        const walked = await everyPage(input);
        expect(walked).toHaveLength(count);
        expect(new Set(walked).size).toBe(count);
        expect(walked).toEqual(await everyPage({ ...input, numbers: everyNumber() }));
        expect((await everyPageOfPlan("places", input, null, false)).ids).toEqual(walked);
      }
    }
  });

  it("collects a state or country through its postings (no GIN index on the key arrays), as the walk pages it", async () => {
    for (const direction of ["asc", "desc"] as const) {
      for (const [filter, count] of [
        [{ state: "il" }, TOTAL],
        [{ country: "CA" }, TOTAL / 5],
        [{ country: "ca", status: ["active"] }, TOTAL / 5],
        [{ state: "Nowhere" }, 0],
      ] as const) {
        const input = ContactSearchInput.parse({
          ...filter,
          sort: { field: "createdAt", direction },
          limit: 41,
        });
        const collected = await everyPageOfPlan("places", input, null, true);
        expect(collected.sql.every((q) => q.includes("search_postings"))).toBe(true);
        expect(collected.ids).toHaveLength(count);
        expect(new Set(collected.ids).size).toBe(count);
        expect(collected.ids).toEqual((await everyPageOfPlan("places", input, null, false)).ids);
        expect(collected.ids).toEqual(await everyPage(input));
      }
    }
  });

  it("pages one term of free text with a lone place the same merged with the place's postings as through the GIN indexes", async () => {
    for (const direction of ["asc", "desc"] as const) {
      const sort = { field: "lastName", direction } as const;
      const numbered = (keep: (n: number) => boolean) => everyNumber().filter(keep).length;
      for (const [q, filter, count] of [
        ["place", { city: "SPRINGFIELD" }, (2 * TOTAL) / 3], // Place0-3: four words
        ["blake", { city: "springfield" }, numbered((n) => n % 7 === 1 && n % 3 !== 2)],
        ["balke", { country: "ca" }, numbered((n) => n % 7 === 1 && n % 5 === 0)], // a typo
        ["place", { state: "IL" }, TOTAL],
        ["plac", { state: "il" }, TOTAL], // one in seven holds two of its words (Placido Place<n>)
      ] as const) {
        const input = ContactSearchInput.parse({ q, ...filter, sort, limit: 29 });
        const terms = freeTextTerms(q);
        const dictionary = freeTextQuery("places", terms);
        const words = freeTextWords(
          terms,
          await h
            .em()
            .getConnection()
            .execute<{ term: number; word: string }[]>(dictionary.sql, dictionary.params),
        );
        // The plan under test is the one taken: a branch per word over the postings.
        const { ids, sql } = await everyPageOfPlan("places", input, words, false);
        for (const text of sql) expect(text.split("union all")).toHaveLength(words[0]?.length ?? 0);
        expect(ids).toHaveLength(count);
        expect(new Set(ids).size).toBe(count);
        expect(await everyPage(input)).toEqual(ids);
        expect(await everyPage({ ...input, numbers: everyNumber() })).toEqual(ids);
      }
    }
  });

  it("follows address changes: the contact moves to its new city's postings", async () => {
    const [moving] = (await client.contacts.search.query({ city: "Ogdenville", limit: 1 })).items;
    await client.contacts.patch.mutate({
      id: moving?.id ?? "",
      patch: [{ op: "replace", path: "/addresses", value: [address("North Haverbrook", "IL", "US")] }],
    });
    const ids = async (city: string) =>
      (await client.contacts.search.query({ city, limit: 1000 })).items.map((c) => c.id);
    expect(await ids("Ogdenville")).not.toContain(moving?.id);
    expect(await ids("North Haverbrook")).toEqual([moving?.id]);
    expect(await ids("Ogdenville")).toHaveLength(TOTAL / 3 - 1);
    await client.contacts.delete.mutate({ id: moving?.id ?? "" });
    expect(await ids("North Haverbrook")).toEqual([]);
    await expectPostingsOfContacts("places");
  });
});

describe("free text through the postings (one term, last-name order)", () => {
  let client: typeof h.alpha;
  const TOTAL = 1_000;

  beforeAll(async () => {
    client = await h.tenantClient("postings");
    // Each contact holds two words starting with "word" (its first and last name), and few distinct
    // last names, so the id breaks most ties.
    await h
      .em()
      .getConnection()
      .execute(
        `insert into contacts (tenant_id, id, number, subtype, first_name, last_name, roles, status,
         created_at, created_by, updated_at, updated_by)
       select 'postings', gen_random_uuid(), n, 'person', 'Word' || (n % 13), 'Wordsmith' || (n % 5),
         case when n % 20 = 0 then array['TECHNICAL'] when n % 2 = 0 then array['BILLING'] else array[]::text[] end,
         (array['active', 'inactive', 'duplicate', 'deceased'])[1 + n % 4],
         now(), 'test', now(), 'test'
       from generate_series(1, ?) n`,
        [TOTAL],
      );
    await h.em().getConnection().execute("update tenants set contact_seq = ? where id = 'postings'", [TOTAL]);
  });

  const everyPage = (input: SearchQueryInput) => everyPageOf(client, input);

  // Every contact's number: a filter that keeps all of them and makes the search take the word index.
  const everyNumber = () => numbersUpTo(TOTAL);

  it("pages one-term free text exactly as the word index does, each contact once, both ways", async () => {
    for (const direction of ["asc", "desc"] as const) {
      const sort = { field: "lastName", direction } as const;
      const walked = await everyPage({ q: "word", sort, limit: 37 });
      const collected = await everyPage({ q: "word", sort, limit: 37, numbers: everyNumber() });
      expect(walked).toHaveLength(TOTAL);
      expect(new Set(walked).size).toBe(TOTAL);
      expect(walked).toEqual(collected);
    }
    const typo = await everyPage({ q: "wrodsmith2", limit: 50 });
    expect(typo).toHaveLength(TOTAL / 5);
    expect(typo).toEqual(await everyPage({ q: "wrodsmith2", limit: 50, numbers: everyNumber() }));
  });

  /** Every id of a search paged through the walk of the postings (`collect` false) or the GIN indexes. */
  async function everyPageOfTextPlan(input: ContactSearchInput, collect: boolean): Promise<string[]> {
    const connection = h.em().getConnection();
    const terms = freeTextTerms(input.q ?? "");
    const dictionary = freeTextQuery("postings", terms);
    const words = freeTextWords(
      terms,
      await connection.execute<{ term: number; word: string }[]>(dictionary.sql, dictionary.params),
    );
    const { ids, sql } = await everyPageOfPlan("postings", input, words, collect);
    // The plan under test is the one taken.
    for (const text of sql) expect(text.includes("search_postings")).toBe(!collect);
    return ids;
  }

  it("pages one-term free text with a role filter the same through the postings and the word index", async () => {
    for (const direction of ["asc", "desc"] as const) {
      // Half the contacts are BILLING; one in twenty TECHNICAL (each word's walk goes further).
      for (const [role, count] of [
        ["BILLING", TOTAL / 2 - TOTAL / 20],
        ["TECHNICAL", TOTAL / 20],
      ] as const) {
        const input = ContactSearchInput.parse({
          q: "word",
          role,
          sort: { field: "lastName", direction },
          limit: 23,
        });
        const walked = await everyPageOfTextPlan(input, false);
        expect(walked).toHaveLength(count);
        expect(new Set(walked).size).toBe(count);
        expect(walked).toEqual(await everyPageOfTextPlan(input, true));
        // The API, whichever plan it picks, pages the same.
        expect(await everyPage(input)).toEqual(walked);
      }
    }
  });

  it("follows renames and deletes: the postings hold exactly each contact's words and places under its sort key", async () => {
    const [first, second] = (await client.contacts.search.query({ q: "wordsmith3", limit: 2 })).items;
    await client.contacts.patch.mutate({
      id: first?.id ?? "",
      patch: [{ op: "replace", path: "/lastName", value: "Aardvark" }],
    });
    await client.contacts.delete.mutate({ id: second?.id ?? "" });
    const ids = async (q: string) =>
      (await client.contacts.search.query({ q, limit: 1000 })).items.map((c) => c.id);
    expect(await ids("wordsmith3")).not.toContain(first?.id);
    expect(await ids("wordsmith3")).not.toContain(second?.id);
    expect(await ids("aardvark")).toEqual([first?.id]);
    expect((await ids("word")).slice(0, 1)).toEqual([first?.id]); // "aardvark" now sorts first
    // Many contacts deleted in one statement (as when a tenant goes) take their entries with them.
    // (The contact deleted above may be one of the 50 numbers: count what this statement deleted.)
    const deleted = await h
      .em()
      .getConnection()
      .execute<{ id: string }[]>(
        "delete from contacts where tenant_id = 'postings' and number between 900 and 949 returning id",
      );
    expect(deleted.length).toBeGreaterThanOrEqual(49);
    expect(await everyPage({ q: "word", limit: 1000 })).toHaveLength(TOTAL - 1 - deleted.length);
    await expectPostingsOfContacts("postings");
  });

  it("answers 400 on `cursor` for a cursor of another sort", async () => {
    const other = await client.contacts.search.query({ q: "word", sort: { field: "firstName" }, limit: 5 });
    const error = await rejection(
      client.contacts.search.query({ q: "word", cursor: other.nextCursor ?? "" }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ reason: "invalid", field: "cursor" }]);
  });
});

describe("free text split as the database splits names", () => {
  let client: Awaited<ReturnType<Harness["tenantClient"]>>;
  const made: Record<string, string> = {};

  beforeAll(async () => {
    client = await h.tenantClient("word-split");
    for (const [key, firstName, lastName] of [
      ["siobhan", "Siobhán", "O’Neill"], // a typographic apostrophe
      ["jean", "Jean–Luc", "Picard"], // an en dash
      ["zoe", "Zoë", "Ünal"],
    ] as const) {
      made[key] = (await client.contacts.create.mutate({ contact: person(firstName, lastName) })).id;
    }
  });

  const search = async (q: string): Promise<string[]> => {
    const page = await client.contacts.search.query({ q, limit: 10 });
    return page.items.map((c) => Object.entries(made).find(([, id]) => id === c.id)?.[0] ?? c.id).sort();
  };

  it("finds a name typed with the punctuation it is stored with, outside ASCII too", async () => {
    expect(await search("O’Neill")).toEqual(["siobhan"]);
    expect(await search("Jean–Luc")).toEqual(["jean"]);
    expect(await search("«Picard»")).toEqual(["jean"]);
    expect(await search("ZOË ünal")).toEqual(["zoe"]);
  });
});
