import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { appRouter } from "../router.js";
import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

interface Operation {
  operationId: string;
  "x-trpc-procedure"?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, unknown> };
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string; bearerFormat?: string }> };
}

async function fetchDocument(): Promise<Document> {
  const response = await fetch(`${h.url}/v1/openapi.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

function operations(document: Document): [string, string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): [string, string, Operation] => [path, method, op]),
  );
}

describe("GET /v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it("has a route for every procedure of the router", async () => {
    const document = await fetchDocument();
    const routed = new Set(operations(document).flatMap(([, , op]) => op["x-trpc-procedure"] ?? []));
    const procedures = Object.keys(appRouter._def.procedures);
    expect(procedures.length).toBeGreaterThan(40);
    expect(procedures.filter((p) => !routed.has(p))).toEqual([]);
  });

  it("names the bearer API key and JWT schemes and documents every error response", async () => {
    const document = await fetchDocument();
    expect(document.components.securitySchemes).toMatchObject({
      apiKey: { type: "http", scheme: "bearer" },
      jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
    });
    for (const [path, method, op] of operations(document)) {
      const where = `${method} ${path}`;
      expect(op.security, where).toBeDefined();
      for (const status of ["401", "403", "429", "500"])
        expect(op.responses[status], `${where} ${status}`).toBeDefined();
      if (!op["x-trpc-procedure"]) continue;
      expect(op.responses["400"], where).toBeDefined();
      expect(op.responses["404"], where).toBeDefined();
      if (op.parameters?.some((p) => p.name === "If-Match")) expect(op.responses["412"], where).toBeDefined();
      if (op.requestBody) expect(op.responses["415"], where).toBeDefined();
    }
    const patch = document.paths["/v1/contacts/{id}"]?.patch;
    expect(Object.keys(patch?.requestBody?.content ?? {})).toEqual(["application/json-patch+json"]);
    const create = document.paths["/v1/contacts"]?.post;
    expect(create?.responses["201"]).toMatchObject({ headers: { Location: {}, ETag: {} } });
    const search = document.paths["/v1/contacts"]?.get;
    expect(search?.responses["200"]).toMatchObject({ headers: { Link: {} } });
    expect(document.paths["/v1/contacts/{id}"]?.delete?.responses["204"]).toBeDefined();
  });
});
