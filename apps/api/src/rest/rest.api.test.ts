import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

interface ErrorBody {
  message: string;
  errors: { reason: string; field: string | null }[];
}

/** A plain HTTP call to the REST API with `key` as the bearer token (JSON body unless told). */
async function call(
  key: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const hasBody = options.body !== undefined || options.raw !== undefined;
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(hasBody ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    ...(hasBody ? { body: options.raw ?? JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text ? (JSON.parse(text) as unknown) : null,
  };
}

function errorsOf(json: unknown): ErrorBody["errors"] {
  const body = json as ErrorBody & { error?: unknown };
  // The REST shape, not tRPC's envelope.
  expect(body.error).toBeUndefined();
  expect(typeof body.message).toBe("string");
  return body.errors;
}

const person = (lastName: string) => ({ subtype: "person", firstName: "Rest", lastName });

describe("contacts as a REST resource", () => {
  it("creates with 201 + Location + ETag, reads with the ETag, replaces with If-Match (412 when stale), patches, deletes with 204", async () => {
    const created = await call(h.alphaKey, "POST", "/v1/contacts", { body: person("Created") });
    expect(created.status).toBe(201);
    const contact = created.json as { id: string; version: number; lastName: string };
    expect(created.headers.get("location")).toBe(`/v1/contacts/${contact.id}`);
    expect(created.headers.get("etag")).toBe('"1"');

    const read = await call(h.alphaKey, "GET", created.headers.get("location") ?? "");
    expect(read.status).toBe(200);
    expect(read.headers.get("etag")).toBe('"1"');
    expect((read.json as { lastName: string }).lastName).toBe("Created");

    const replaced = await call(h.alphaKey, "PUT", `/v1/contacts/${contact.id}`, {
      body: person("Replaced"),
      headers: { "if-match": '"1"' },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get("etag")).toBe('"2"');

    const stale = await call(h.alphaKey, "PUT", `/v1/contacts/${contact.id}`, {
      body: person("Stale"),
      headers: { "if-match": '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(errorsOf(stale.json)).toEqual([{ reason: "version_mismatch", field: "If-Match" }]);

    const patch = [{ op: "replace", path: "/lastName", value: "Patched" }];
    const wrongType = await call(h.alphaKey, "PATCH", `/v1/contacts/${contact.id}`, { body: patch });
    expect(wrongType.status).toBe(415);
    expect(errorsOf(wrongType.json)).toEqual([{ reason: "invalid", field: "Content-Type" }]);

    const patched = await call(h.alphaKey, "PATCH", `/v1/contacts/${contact.id}`, {
      body: patch,
      headers: { "content-type": "application/json-patch+json", "if-match": '"2"' },
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get("etag")).toBe('"3"');
    expect((patched.json as { lastName: string }).lastName).toBe("Patched");

    const stalePatch = await call(h.alphaKey, "PATCH", `/v1/contacts/${contact.id}`, {
      body: patch,
      headers: { "content-type": "application/json-patch+json", "if-match": '"2"' },
    });
    expect(stalePatch.status).toBe(412);

    const history = await call(h.alphaKey, "GET", `/v1/contacts/${contact.id}/history`);
    expect(history.status).toBe(200);
    expect((history.json as { items: { type: string }[] }).items.map((e) => e.type)).toEqual([
      "created",
      "updated",
      "updated",
    ]);

    const deleted = await call(h.alphaKey, "DELETE", `/v1/contacts/${contact.id}`, {
      headers: { "if-match": '"3"' },
    });
    expect(deleted.status).toBe(204);
    expect(deleted.json).toBeNull();
    const gone = await call(h.alphaKey, "GET", `/v1/contacts/${contact.id}`);
    expect(gone.status).toBe(404);
    expect(errorsOf(gone.json)).toEqual([{ reason: "not_found", field: "id" }]);
  });

  it("answers invalid input with { errors: [{ reason, field }] }, fields relative to the body", async () => {
    const invalid = await call(h.alphaKey, "POST", "/v1/contacts", {
      body: { subtype: "person", lastName: "X" },
    });
    expect(invalid.status).toBe(400);
    expect(errorsOf(invalid.json)).toContainEqual({ reason: "required", field: "firstName" });

    const notJson = await call(h.alphaKey, "POST", "/v1/contacts", { raw: "{not json" });
    expect(notJson.status).toBe(400);
    expect(errorsOf(notJson.json)).toEqual([{ reason: "invalid", field: null }]);

    const badIfMatch = await call(h.alphaKey, "DELETE", `/v1/contacts/${crypto.randomUUID()}`, {
      headers: { "if-match": "yesterday" },
    });
    expect(badIfMatch.status).toBe(400);
    expect(errorsOf(badIfMatch.json)).toEqual([{ reason: "invalid", field: "If-Match" }]);

    const badLimit = await call(h.alphaKey, "GET", "/v1/contacts?limit=5000");
    expect(badLimit.status).toBe(400);
    expect(errorsOf(badLimit.json)).toEqual([{ reason: "too_big", field: "limit" }]);

    const unknownParam = await call(h.alphaKey, "GET", "/v1/contacts?colour=red");
    expect(unknownParam.status).toBe(400);
    expect(errorsOf(unknownParam.json)[0]?.reason).toBe("unknown_field");

    const noToken = await fetch(`${h.url}/v1/contacts`);
    expect(noToken.status).toBe(401);
    expect(errorsOf(await noToken.json())).toEqual([{ reason: "unauthenticated", field: null }]);

    const noRoute = await call(h.alphaKey, "GET", "/v1/nothing-here");
    expect(noRoute.status).toBe(404);
    expect(errorsOf(noRoute.json)).toEqual([{ reason: "not_found", field: null }]);
  });

  it("pages a search with limit/cursor and a Link rel=next header, filters from query parameters", async () => {
    for (const n of [1, 2, 3]) {
      expect((await call(h.alphaKey, "POST", "/v1/contacts", { body: person(`Paged${n}`) })).status).toBe(
        201,
      );
    }
    const first = await call(h.alphaKey, "GET", "/v1/contacts?lastName=Paged&limit=2&sort[field]=lastName");
    expect(first.status).toBe(200);
    const page1 = first.json as { items: { lastName: string }[]; nextCursor: string };
    expect(page1.items.map((c) => c.lastName)).toEqual(["Paged1", "Paged2"]);
    const link = first.headers.get("link") ?? "";
    const match = /^<([^>]+)>; rel="next"$/.exec(link);
    expect(match).not.toBeNull();
    const next = await call(h.alphaKey, "GET", match?.[1] ?? "");
    expect(next.status).toBe(200);
    expect((next.json as { items: { lastName: string }[] }).items.map((c) => c.lastName)).toEqual(["Paged3"]);
    expect(next.headers.get("link")).toBeNull();

    const fields = await call(
      h.alphaKey,
      "GET",
      "/v1/contacts?lastName=Paged1&fields=lastName&fields=version",
    );
    // The id always comes with a projection.
    expect((fields.json as { items: unknown[] }).items).toEqual([
      { id: expect.any(String) as string, lastName: "Paged1", version: 1 },
    ]);
  });

  it("replays a create with the same Idempotency-Key instead of creating a second contact", async () => {
    const headers = { "idempotency-key": "rest-create-1" };
    const first = await call(h.alphaKey, "POST", "/v1/contacts", { body: person("Keyed"), headers });
    const again = await call(h.alphaKey, "POST", "/v1/contacts", { body: person("Keyed"), headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect((again.json as { id: string }).id).toBe((first.json as { id: string }).id);
    const other = await call(h.alphaKey, "POST", "/v1/contacts", { body: person("Other"), headers });
    expect(other.status).toBe(422);
    expect(errorsOf(other.json)[0]?.reason).toBe("idempotency_key_reused");
  });

  it("finds a contact by external id", async () => {
    const created = await call(h.alphaKey, "POST", "/v1/contacts", {
      body: { ...person("External"), externalId: "crm/42" },
    });
    const found = await call(
      h.alphaKey,
      "GET",
      `/v1/contacts/by-external-id/${encodeURIComponent("crm/42")}`,
    );
    expect(found.status).toBe(200);
    expect((found.json as { id: string }).id).toBe((created.json as { id: string }).id);
    expect(found.headers.get("etag")).toBe('"1"');
  });
});

describe("accounts, channels, roles and changes as REST resources", () => {
  it("creates an account (201 + Location), its channels, lists its contacts, removes all channels with 204", async () => {
    const created = await call(h.alphaKey, "POST", "/v1/accounts", {
      body: { type: "CLOUD", key: "rest-1", name: "Rest Account" },
    });
    expect(created.status).toBe(201);
    const account = created.json as { id: string };
    expect(created.headers.get("location")).toBe(`/v1/accounts/${account.id}`);
    expect(created.headers.get("etag")).toBe('"1"');

    const byKey = await call(h.alphaKey, "GET", "/v1/accounts/by-key/CLOUD/rest-1");
    expect(byKey.status).toBe(200);
    expect((byKey.json as { id: string }).id).toBe(account.id);

    const channel = await call(h.alphaKey, "POST", `/v1/accounts/${account.id}/channels`, {
      body: { label: "general", email: "desk@example.com" },
    });
    expect(channel.status).toBe(201);
    const channelId = (channel.json as { id: string }).id;
    expect(channel.headers.get("location")).toBe(`/v1/accounts/${account.id}/channels/${channelId}`);
    const changed = await call(h.alphaKey, "PATCH", `/v1/accounts/${account.id}/channels/${channelId}`, {
      body: { email: "help@example.com" },
    });
    expect(changed.status).toBe(200);
    expect((changed.json as { email: string }).email).toBe("help@example.com");

    await call(h.alphaKey, "POST", "/v1/contacts", {
      body: { ...person("OfAccount"), accountId: account.id },
    });
    const contacts = await call(h.alphaKey, "GET", `/v1/accounts/${account.id}/contacts`);
    expect(contacts.status).toBe(200);
    expect((contacts.json as { items: { lastName: string }[] }).items.map((c) => c.lastName)).toEqual([
      "OfAccount",
    ]);

    const removed = await call(h.alphaKey, "DELETE", `/v1/accounts/${account.id}/channels`);
    expect(removed.status).toBe(204);
    const none = await call(h.alphaKey, "GET", `/v1/accounts/${account.id}/channels`);
    expect(none.json).toEqual([]);
  });

  it("lists roles, creates one with 201 and deletes it with 204; the change feed pages with since", async () => {
    const roles = await call(h.alphaKey, "GET", "/v1/roles");
    expect((roles.json as { code: string }[]).map((r) => r.code)).toContain("PRIMARY");
    const created = await call(h.alphaKey, "POST", "/v1/roles", { body: { code: "REST_ROLE" } });
    expect(created.status).toBe(201);
    expect((await call(h.alphaKey, "DELETE", "/v1/roles/REST_ROLE")).status).toBe(204);

    const changes = await call(h.alphaKey, "GET", "/v1/changes?limit=1");
    expect(changes.status).toBe(200);
    expect(changes.headers.get("link")).toMatch(/^<\/v1\/changes\?limit=1&since=[^>]+>; rel="next"$/);
  });
});

describe("REST access rules", () => {
  it("another tenant's contact id is a 404 on every contact route (BOLA)", async () => {
    const created = await call(h.alphaKey, "POST", "/v1/contacts", { body: person("Private") });
    const id = (created.json as { id: string }).id;
    const bravo = await h.keyWith("bravo", ALL_PERMISSIONS);
    const attempts = [
      await call(bravo, "GET", `/v1/contacts/${id}`),
      await call(bravo, "PUT", `/v1/contacts/${id}`, { body: person("Taken") }),
      await call(bravo, "PATCH", `/v1/contacts/${id}`, {
        body: [{ op: "replace", path: "/lastName", value: "Taken" }],
        headers: { "content-type": "application/json-patch+json" },
      }),
      await call(bravo, "DELETE", `/v1/contacts/${id}`),
      await call(bravo, "GET", `/v1/contacts/${id}/history`),
      await call(bravo, "GET", `/v1/contacts/${id}/duplicates`),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(404);
      expect(errorsOf(attempt.json)[0]?.reason).toBe("not_found");
    }
    const still = await call(h.alphaKey, "GET", `/v1/contacts/${id}`);
    expect(still.json as { lastName: string; version: number }).toMatchObject({
      lastName: "Private",
      version: 1,
    });
  });

  it("a read-only key reads but cannot write (403)", async () => {
    const reader = await h.keyWith("alpha", ["contacts:read", "accounts:read"]);
    expect((await call(reader, "GET", "/v1/contacts?limit=1")).status).toBe(200);
    const refused = [
      await call(reader, "POST", "/v1/contacts", { body: person("Nope") }),
      await call(reader, "POST", "/v1/accounts", { body: { type: "CLOUD", key: "nope", name: "Nope" } }),
      await call(reader, "POST", "/v1/roles", { body: { code: "NOPE" } }),
    ];
    for (const attempt of refused) {
      expect(attempt.status).toBe(403);
      expect(errorsOf(attempt.json)[0]?.reason).toBe("forbidden");
    }
  });

  it("answers 429 with Retry-After once the tenant's rate limit is used up", async () => {
    await h.tenantClient("rest-limited");
    const key = await h.keyWith("rest-limited", ["contacts:read"]);
    await (
      await h.platform("rest-limited")
    ).admin.tenants.update.mutate({
      settings: { limits: { requestsPerMinute: 3 } },
    });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | null = null;
    for (let i = 0; i < 5; i++) {
      const answer = await call(key, "GET", "/v1/contacts");
      statuses.push(answer.status);
      if (answer.status === 429) limited = answer;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(limited?.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    expect(errorsOf(limited?.json)).toEqual([{ reason: "rate_limited", field: null }]);
  });
});
