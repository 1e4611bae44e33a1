import { randomUUID } from "node:crypto";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { singleTenantPlanProblems } from "@contacts/db/citus";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { ContactDescendantsInput, ContactListInput, ContactSearchInput } from "@contacts/domain/search";

import { descendantsSql, listSql, numberCursor } from "./list-sql.js";
import type { SearchPlan } from "./plans.js";
import { filterFrequencyQuery, freeTextQuery, searchCursor, searchSql } from "./search-sql.js";
import type { Sql } from "./sql.js";

let db: TestDatabase;
let owner: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
});

afterAll(async () => {
  await owner.end();
  await db.drop();
});

const TENANT = "acme";
const place = { kind: "city", value: "paris" } as const;
const words = ["lovelace", "lovell"];

/** Every plan kind with the filters it is chosen for, first pages and later ones, both sorts. */
function searches(): [string, Sql][] {
  const inputs = [
    { q: "lovelace" },
    { q: "ada lovelace", city: "Paris" },
    { city: "Paris" },
    { state: "CA", country: "US", role: "BILLING" },
    { emailAddress: "ada@example.com", status: ["active"] },
    { ids: [randomUUID()], accountIds: [randomUUID()], numbers: [1, 2] },
    { firstName: "Ad", lastName: "Lo", nickname: "Al", jobTitle: "En", accountName: "Ac", group: "gr" },
    { taxId: "123-45-6789" },
    { lastName: "Lo", sort: { field: "createdAt", direction: "desc" } },
  ].map((raw) => ContactSearchInput.parse(raw));
  const plans: SearchPlan[] = [
    { kind: "placeWalk", place },
    { kind: "placeMerge", place, words },
    { kind: "postingWalk", words },
    { kind: "collect", freeText: [words] },
    { kind: "collect", freeText: null },
    { kind: "sortWalk" },
  ];
  const out: [string, Sql][] = [];
  for (const input of inputs) {
    const key = input.sort?.field.endsWith("At") ? "2026-01-01T00:00:00Z" : "m";
    const later = { ...input, cursor: searchCursor(TENANT, input, { sort_key: key, id: randomUUID() }) };
    for (const plan of plans) {
      out.push([`${plan.kind} ${JSON.stringify(input)}`, searchSql(TENANT, input, plan, "index-key")]);
      out.push([
        `${plan.kind} ${JSON.stringify(input)}, later page`,
        searchSql(TENANT, later, plan, "index-key"),
      ]);
    }
    const frequency = filterFrequencyQuery(TENANT, input);
    if (frequency) out.push([`filter frequency ${JSON.stringify(input)}`, frequency]);
  }
  out.push(["free text words", freeTextQuery(TENANT, ["ada", "lovelace"])]);
  return out;
}

function lists(): [string, Sql][] {
  const byId = ContactListInput.parse({ accountId: randomUUID(), role: "BILLING", username: "ada" });
  const byKey = ContactListInput.parse({
    account: { type: "CLOUD", key: "k1" },
    emailAddress: "a@example.com",
  });
  const tree = ContactDescendantsInput.parse({ accountId: randomUUID() });
  return [
    ["list by account id", listSql(TENANT, byId)],
    [
      "list by account key, later page",
      listSql(TENANT, { ...byKey, cursor: numberCursor(TENANT, "list")({ number: 7 }) }),
    ],
    ["descendants", descendantsSql(TENANT, tree)],
    [
      "descendants, later page",
      descendantsSql(TENANT, { ...tree, cursor: numberCursor(TENANT, "descendants")({ number: 7 }) }),
    ],
  ];
}

describe("the search planner's and the lists' SQL runs on one tenant's shard", () => {
  it.each([...searches(), ...lists()])("%s", async (_label, query) => {
    expect(await singleTenantPlanProblems(owner, query, TENANT)).toEqual([]);
  });
});
