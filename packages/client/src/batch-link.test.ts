import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { createContactsClient } from "./client.js";

/** A tRPC-shaped HTTP server that answers each call with `{ path, input }` and records every request. */
let url = "";
const requests: { method: string; url: string }[] = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => (body += chunk.toString()));
  req.on("end", () => {
    requests.push({ method: req.method ?? "", url: req.url ?? "" });
    const parsed = new URL(req.url ?? "", "http://localhost");
    const paths = parsed.pathname.replace(/^\/trpc\//, "").split(",");
    const raw = req.method === "GET" ? (parsed.searchParams.get("input") ?? "null") : body || "null";
    const input = JSON.parse(raw) as unknown;
    const answer = (path: string, i: number) => ({
      result: { data: { path, input: parsed.searchParams.has("batch") ? (input as unknown[])[i] : input } },
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(parsed.searchParams.has("batch") ? paths.map(answer) : answer(paths[0] ?? "", 0)));
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests.length = 0;
});

const ID = "00000000-0000-4000-8000-000000000001";
const ID2 = "00000000-0000-4000-8000-000000000002";

describe("sameTickBatchLink (through createContactsClient)", () => {
  it("sends a call made alone as a plain request, not a batch of one", async () => {
    const client = createContactsClient({ url, apiKey: "k" });
    const answer = await client.contacts.get.query({ id: ID });
    expect(answer).toEqual({ path: "contacts.get", input: { id: ID } });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).not.toContain("batch=1");
  });

  it("sends calls started in the same tick as one batch, each getting its own answer", async () => {
    const client = createContactsClient({ url, apiKey: "k" });
    const answers = await Promise.all([
      client.contacts.get.query({ id: ID }),
      client.contacts.get.query({ id: ID2 }),
      client.contacts.search.query({ limit: 5 }),
    ]);
    expect(answers).toEqual([
      { path: "contacts.get", input: { id: ID } },
      { path: "contacts.get", input: { id: ID2 } },
      { path: "contacts.search", input: { limit: 5 } },
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toContain("batch=1");
  });

  it("batches only calls of the same kind: a query and a mutation together go alone", async () => {
    const client = createContactsClient({ url, apiKey: "k" });
    await Promise.all([client.contacts.get.query({ id: ID }), client.contacts.delete.mutate({ id: ID2 })]);
    expect(requests.map((r) => r.method).sort()).toEqual(["GET", "POST"]);
    expect(requests.every((r) => !r.url.includes("batch=1"))).toBe(true);
  });

  it("keeps batches within maxBatchSize", async () => {
    const client = createContactsClient({ url, apiKey: "k", maxBatchSize: 2 });
    await Promise.all([ID, ID2, ID].map((id) => client.contacts.get.query({ id })));
    expect(requests).toHaveLength(2);
  });

  it("sends calls made one after the other separately", async () => {
    const client = createContactsClient({ url, apiKey: "k" });
    await client.contacts.get.query({ id: ID });
    await client.contacts.get.query({ id: ID2 });
    expect(requests).toHaveLength(2);
    expect(requests.every((r) => !r.url.includes("batch=1"))).toBe(true);
  });

  it("does not send a call aborted before its tick ended", async () => {
    const client = createContactsClient({ url, apiKey: "k" });
    const controller = new AbortController();
    const call = client.contacts.get.query({ id: ID }, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toThrow();
    expect(requests).toHaveLength(0);
  });
});
