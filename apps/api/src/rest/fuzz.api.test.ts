import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { startHarness } from "../testing/harness.js";
import { buildOpenApiDocument } from "./openapi.js";
import { procedureRoutes } from "./rest-routes.js";
import type { Harness } from "../testing/harness.js";
import { SchemaValidator, checkResponse, operationsOf, requestsOf } from "../testing/openapi-fuzz.js";
import type { FuzzOperation, FuzzRequest, KnownValues, OpenApiDocument } from "../testing/openapi-fuzz.js";

/*
 * The OpenAPI document fuzzed against the running server (real HTTP, real PostgreSQL, real pg-boss
 * for the upload route): every operation, FUZZ_EXAMPLES generated requests each (valid data and
 * data the document calls invalid), Schemathesis's default checks on every answer. A failure names
 * the operation, the shrunk request and the checks it broke; the seed reproduces it
 * (FUZZ_SEED=<seed>).
 */

const EXAMPLES = Number(process.env.FUZZ_EXAMPLES ?? 40);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

let h: Harness;
let doc: OpenApiDocument;
let validator: SchemaValidator;
let platformToken: string;

beforeAll(async () => {
  h = await startHarness({ jobQueue: true });
  doc = (await (await fetch(`${h.url}/v1/openapi.json`)).json()) as OpenApiDocument;
  validator = new SchemaValidator(doc);
  platformToken = await h.token(
    { kind: "service", sub: "fuzz", tenants: "*", permissions: ALL_PERMISSIONS },
    { expiresIn: 3600 },
  );
});

afterAll(async () => {
  await h.close();
});

async function post(key: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${h.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`seeding ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** A tenant of its own for one operation (its settings and limits are the operation's to break), with a few records. */
async function tenantFor(op: FuzzOperation, index: number): Promise<{ key: string; known: KnownValues }> {
  const tenantId = `fuzz-${index}-${op.operationId.toLowerCase().replace(/[^a-z0-9]/g, "")}`.slice(0, 60);
  await h.tenantClient(tenantId);
  const key = await h.keyWith(tenantId, ALL_PERMISSIONS);
  const account = await post(key, "/v1/accounts", { type: "CUSTOMER", key: "acme", name: "Acme" });
  const channel = await post(key, `/v1/accounts/${String(account.id)}/channels`, {
    label: "service_desk",
    email: "desk@acme.example",
  });
  await post(key, "/v1/roles", { code: "AUDITOR" });
  const jane = await post(key, "/v1/contacts", {
    subtype: "person",
    firstName: "Jane",
    lastName: "Doe",
    externalId: "crm-1",
    accountId: account.id,
    roles: ["AUDITOR"],
    emails: [{ address: "jane@acme.example", label: "work", primary: true }],
  });
  const john = await post(key, "/v1/contacts", { subtype: "person", firstName: "John", lastName: "Doe" });
  const ids = [String(jane.id), String(john.id)];
  return {
    key,
    known: {
      id: [...ids, String(account.id), String(channel.id)],
      accountId: [String(account.id)],
      targetId: ids,
      managerId: ids,
      sourceIds: ids,
      contactId: ids,
      externalId: ["crm-1"],
      type: ["CUSTOMER"],
      key: ["acme"],
      code: ["AUDITOR"],
    },
  };
}

async function send(request: FuzzRequest, token: string) {
  const response = await fetch(`${h.url}${request.url}`, {
    method: request.method,
    headers: { authorization: `Bearer ${token}`, ...request.headers },
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The operations, from the same function the server builds its document with (one test each). */
const OPERATIONS = operationsOf(buildOpenApiDocument(procedureRoutes()) as unknown as OpenApiDocument);

describe("the OpenAPI document, fuzzed against the running server", () => {
  it("the served document has the operations fuzzed here", () => {
    expect(operationsOf(doc).map((o) => o.operationId)).toEqual(OPERATIONS.map((o) => o.operationId));
    expect(OPERATIONS.length).toBeGreaterThan(40);
  });

  it.each(OPERATIONS.map((o, index) => [`${o.method} ${o.path}`, index] as const))(
    "%s",
    async (_, index) => {
      // The served document's operation (the one a client sees), at the same place.
      const op = operationsOf(doc).at(index);
      if (!op) throw new Error(`the served document has no operation #${index}`);
      const tenant = await tenantFor(op, index);
      const platform = !op.security.includes("apiKey");
      const token = platform ? platformToken : tenant.key;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requestsOf(doc, op, tenant.known, validator), async (request) => {
          const response = await send(request, token);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const failures = checkResponse(op, request, response, validator);
          if (failures.length > 0) {
            throw new Error(
              `${op.method} ${op.path}: ${failures.join("; ")}\nrequest: ${request.method} ${request.url} ${request.body ?? ""}`,
            );
          }
        }),
        { numRuns: EXAMPLES, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: false },
      );
      // Not a pass/fail rule (the document cannot say which generated values the domain accepts), but shown.
      console.info(`${op.method} ${op.path}: ${JSON.stringify(Object.fromEntries(statuses))}`);
    },
    120_000,
  );
});
