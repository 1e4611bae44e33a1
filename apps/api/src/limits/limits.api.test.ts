import { connect } from "node:net";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContactsClient } from "@contacts/client/client";
import type { ContactsClient } from "@contacts/client/client";
import { ContactEntity } from "@contacts/db/entities/contact.entity";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

const person = { subtype: "person" as const, firstName: "Lim", lastName: "Ited" };

/** The `{ error: ... }` body tRPC answers a failed call with (alone, or per item of a batch). */
interface ErrorBody {
  error: {
    data: {
      code: string;
      httpStatus: number;
      errors: { reason: string; field: string | null }[];
      details?: Record<string, unknown>;
    };
  };
}

/** One item of a batch answer: a result or an error. */
type BatchItem = { result: { data: unknown } } | ErrorBody;

/** The request log lines the server wrote from line `from` on. */
function requestLogs(h: Harness, from = 0): { route: string; status: number }[] {
  return h.logs
    .slice(from)
    .map((line) => JSON.parse(line) as { msg?: string; route: string; status: number })
    .filter((line) => line.msg === "request");
}

/** `contacts.search` with no filter, as a plain GET with the tenant's key (no client, no retry). */
function rawSearch(h: Harness, apiKey: string): Promise<Response> {
  return fetch(`${h.url}/trpc/contacts.search?input=${encodeURIComponent(JSON.stringify({}))}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
}

/** The outcome of a call: "ok", or the HTTP status it was refused with. */
async function outcome(call: Promise<unknown>): Promise<"ok" | number> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return (error as { status: number }).status;
  }
}

/** A typed client that retries (unlike the harness's), recording every HTTP answer it receives. */
function retryingClient(
  h: Harness,
  apiKey: string,
): { client: ContactsClient; answers: { status: number; retryAfter: string | null }[] } {
  const answers: { status: number; retryAfter: string | null }[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    answers.push({ status: response.status, retryAfter: response.headers.get("retry-after") });
    return response;
  };
  const client = createContactsClient({ url: h.url, apiKey, retry: { retries: 3 }, fetch: recordingFetch });
  return { client, answers };
}

describe("the tenant's request rate limit", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it("answers 429 rate_limited with a Retry-After once the bucket is empty, and serves the other tenant meanwhile", async () => {
    const updated = await (
      await h.platform("alpha")
    ).admin.tenants.update.mutate({
      settings: { limits: { requestsPerMinute: 5 } },
    });
    expect(updated.settings.limits.requestsPerMinute).toBe(5);

    const outcomes: ("ok" | number)[] = [];
    for (let i = 0; i < 8; i++) outcomes.push(await outcome(h.alpha.contacts.search.query({})));
    expect(outcomes).toEqual(["ok", "ok", "ok", "ok", "ok", 429, 429, 429]);

    const error = await rejection(h.alpha.contacts.search.query({}));
    expect(error.status).toBe(429);
    expect(error.code).toBe("TOO_MANY_REQUESTS");
    expect(error.errors).toEqual([{ reason: "rate_limited", field: null }]);

    const response = await rawSearch(h, h.alphaKey);
    expect(response.status).toBe(429);
    const retryAfter = response.headers.get("retry-after");
    expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.data.code).toBe("TOO_MANY_REQUESTS");
    expect(body.error.data.httpStatus).toBe(429);
    expect(body.error.data.errors).toEqual([{ reason: "rate_limited", field: null }]);
    expect(body.error.data.details).toEqual({ retryAfterSeconds: Number(retryAfter), secondsPerCall: 12 });

    // Bravo has its own bucket: served normally while alpha is limited.
    for (let i = 0; i < 8; i++) {
      expect(await h.bravo.contacts.search.query({})).toEqual({ items: [], nextCursor: null });
    }
    const bravoResponse = await rawSearch(h, await h.keyWith("bravo", ["contacts:read"]));
    expect(bravoResponse.status).toBe(200);
    expect(bravoResponse.headers.get("retry-after")).toBeNull();

    expect((await rejection(h.alpha.contacts.search.query({}))).status).toBe(429);
  });
});

describe("the rate limit in a batch", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it("takes one token per call: the calls of a batch beyond the budget are refused with 429", async () => {
    await (
      await h.platform("alpha")
    ).admin.tenants.update.mutate({ settings: { limits: { requestsPerMinute: 10 } } });

    const calls = Array.from({ length: 12 }, (_, i) => i);
    const input = Object.fromEntries(calls.map((i) => [i, {}]));
    const response = await fetch(
      `${h.url}/trpc/${calls.map(() => "contacts.search").join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`,
      { headers: { authorization: `Bearer ${h.alphaKey}` } },
    );
    const items = (await response.json()) as BatchItem[];
    expect(items).toHaveLength(12);
    const ok = items.filter((item) => "result" in item);
    const refused = items.filter((item): item is ErrorBody => "error" in item);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(2);
    for (const item of refused) {
      expect(item.error.data.httpStatus).toBe(429);
      expect(item.error.data.code).toBe("TOO_MANY_REQUESTS");
      expect(item.error.data.errors).toEqual([{ reason: "rate_limited", field: null }]);
    }
    expect(response.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    // The wait covers both refused calls (6 s of budget each at 10 a minute), not just the first.
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(11);
  });
});

describe("the typed client's retry", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it("waits what Retry-After says and then succeeds", async () => {
    await (
      await h.platform("alpha")
    ).admin.tenants.update.mutate({ settings: { limits: { requestsPerMinute: 60 } } });
    // Empty the bucket with the retry-less client.
    let drained = false;
    for (let i = 0; i < 200 && !drained; i++) {
      drained = (await outcome(h.alpha.contacts.search.query({}))) === 429;
    }
    expect(drained).toBe(true);

    const { client, answers } = retryingClient(h, h.alphaKey);
    const logStart = h.logs.length;
    // The bucket refills one token a second: keep calling until a call met a 429 (the first almost always does).
    for (let i = 0; i < 100 && !answers.some((a) => a.status === 429); i++) {
      expect(await client.contacts.search.query({})).toEqual({ items: [], nextCursor: null });
    }
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const answer of limited) expect(answer.retryAfter).toMatch(/^[1-9][0-9]*$/);
    expect(answers.at(-1)?.status).toBe(200);

    const served = requestLogs(h, logStart).filter((line) => line.route.startsWith("/trpc/contacts.search"));
    expect(served.filter((line) => line.status === 429).length).toBeGreaterThanOrEqual(1);
    expect(served.map((line) => line.status)).toEqual(answers.map((a) => a.status));
  });
});

describe("the tenant's contact limit", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  const count = (tenantId: string) => h.em().count(ContactEntity, { tenantId });

  it("refuses creates beyond the limit with 429 tenant_limit and no Retry-After, until a delete or a higher limit", async () => {
    const updated = await (
      await h.platform("alpha")
    ).admin.tenants.update.mutate({ settings: { limits: { contacts: 2 } } });
    expect(updated.settings.limits.contacts).toBe(2);

    const first = await h.alpha.contacts.create.mutate({ contact: person });
    await h.alpha.contacts.create.mutate({ contact: person });
    expect(await count("alpha")).toBe(2);

    const error = await rejection(h.alpha.contacts.create.mutate({ contact: person }));
    expect(error.status).toBe(429);
    expect(error.code).toBe("TOO_MANY_REQUESTS");
    expect(error.errors).toEqual([{ reason: "tenant_limit", field: null }]);
    expect(error.details?.limit).toBe(2);

    const response = await fetch(`${h.url}/trpc/contacts.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.alphaKey}`, "content-type": "application/json" },
      body: JSON.stringify({ contact: person }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBeNull();
    const body = (await response.json()) as ErrorBody;
    expect(body.error.data.errors).toEqual([{ reason: "tenant_limit", field: null }]);
    expect(await count("alpha")).toBe(2);

    // Waiting does not lift this limit: the typed client does not retry it.
    const { client, answers } = retryingClient(h, h.alphaKey);
    const logStart = h.logs.length;
    const notRetried = await rejection(client.contacts.create.mutate({ contact: person }));
    expect(notRetried.status).toBe(429);
    expect(notRetried.errors).toEqual([{ reason: "tenant_limit", field: null }]);
    expect(answers.map((a) => a.status)).toEqual([429]);
    expect(
      requestLogs(h, logStart)
        .filter((line) => line.route === "/trpc/contacts.create")
        .map((line) => line.status),
    ).toEqual([429]);
    expect(await count("alpha")).toBe(2);

    // A delete makes room for one more.
    await h.alpha.contacts.delete.mutate({ id: first.id });
    expect(await count("alpha")).toBe(1);
    await h.alpha.contacts.create.mutate({ contact: person });
    expect(await count("alpha")).toBe(2);
    expect((await rejection(h.alpha.contacts.create.mutate({ contact: person }))).status).toBe(429);

    // A higher limit lets creates through, up to the new limit.
    await (await h.platform("alpha")).admin.tenants.update.mutate({ settings: { limits: { contacts: 4 } } });
    await h.alpha.contacts.create.mutate({ contact: person });
    await h.alpha.contacts.create.mutate({ contact: person });
    expect(await count("alpha")).toBe(4);
    expect((await rejection(h.alpha.contacts.create.mutate({ contact: person }))).errors).toEqual([
      { reason: "tenant_limit", field: null },
    ]);
    expect(await count("alpha")).toBe(4);
  });

  it("does not hold back another tenant's creates", async () => {
    const limit = await count("alpha");
    await (
      await h.platform("alpha")
    ).admin.tenants.update.mutate({ settings: { limits: { contacts: limit } } });
    expect((await rejection(h.alpha.contacts.create.mutate({ contact: person }))).status).toBe(429);

    const bravoBefore = await count("bravo");
    for (let i = 0; i < 3; i++) await h.bravo.contacts.create.mutate({ contact: person });
    expect(await count("bravo")).toBe(bravoBefore + 3);

    expect((await rejection(h.alpha.contacts.create.mutate({ contact: person }))).status).toBe(429);
    expect(await count("alpha")).toBe(limit);
  });
});

describe("a request too long for a URL", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it("is a 431 with the JSON error body, on tRPC and the plain routes alike", async () => {
    const input = encodeURIComponent(JSON.stringify({ q: "x".repeat(20_000) }));
    for (const path of [`/trpc/contacts.search?input=${input}`, `/v1/exports/contacts.csv?search=${input}`]) {
      const response = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${h.alphaKey}` } });
      expect(response.status).toBe(431);
      expect(response.headers.get("content-type")).toBe("application/json");
      const body = (await response.json()) as ErrorBody & { errors: unknown };
      expect(body.errors).toEqual([{ reason: "too_long", field: null }]);
      expect(body.error.data).toMatchObject({
        httpStatus: 431,
        errors: [{ reason: "too_long", field: null }],
      });
    }
  });

  it("is sent as POST by the typed client: a search by 1,000 ids answers", async () => {
    const ids: string[] = [];
    for (const firstName of ["Ida", "Ivo"]) {
      ids.push((await h.alpha.contacts.create.mutate({ contact: { ...person, firstName } })).id);
    }
    const padded = [...ids, ...Array.from({ length: 998 }, () => crypto.randomUUID())];
    const found = await h.alpha.contacts.search.query({ ids: padded, limit: 1000 });
    expect(found.items.map((c) => c.firstName).sort()).toEqual(["Ida", "Ivo"]);
    // Batched with a short call, the long one still goes alone as POST and both answer.
    const [long, short] = await Promise.all([
      h.alpha.contacts.search.query({ ids: padded }),
      h.alpha.contacts.get.query({ id: ids[0] ?? "" }),
    ]);
    expect([long.items.length, short.firstName]).toEqual([2, "Ida"]);
  });
});

describe("the tenant's limits on imports and exports running at once", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  const upload = (apiKey: string, csv: string) =>
    fetch(`${h.url}/v1/imports?fileName=limit.csv`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "text/csv" },
      body: csv,
    });
  const unfinished = async (tenantId: string) =>
    (
      await h
        .em()
        .getConnection()
        .execute<{ n: string }[]>(
          "select count(*)::text as n from imports where tenant_id = ? and state in ('queued', 'running')",
          [tenantId],
        )
    )[0]?.n;

  it("refuses an upload while the tenant's limit of imports is queued or running, storing nothing", async () => {
    const client = await h.tenantClient("imp-limit");
    const key = await h.keyWith("imp-limit", ["imports:write"]);
    const updated = await (
      await h.platform("imp-limit")
    ).admin.tenants.update.mutate({ settings: { limits: { imports: 2 } } });
    expect(updated.settings.limits.imports).toBe(2);
    // No job queue in this harness: the imports stay queued.
    const queued = [];
    for (const n of [1, 2]) {
      const r = await upload(key, `First Name,Last Name\nA${n},B\n`);
      expect(r.status).toBe(202);
      queued.push(((await r.json()) as { importId: string }).importId);
    }
    const refused = await upload(key, "First Name,Last Name\nA3,B\n");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(((await refused.json()) as { errors: unknown }).errors).toEqual([
      { reason: "rate_limited", field: null },
    ]);
    expect(await unfinished("imp-limit")).toBe("2");
    // Another tenant is not held back; once one ends, the next upload is taken.
    expect((await upload(h.alphaKey, "First Name,Last Name\nOther,Tenant\n")).status).toBe(202);
    await client.imports.cancel.mutate({ id: queued[0] ?? "" });
    expect((await upload(key, "First Name,Last Name\nA3,B\n")).status).toBe(202);
  });

  it("counts uploads finishing at the same moment: of three racing for two free slots, two are taken", async () => {
    await h.tenantClient("imp-race");
    const key = await h.keyWith("imp-race", ["imports:write"]);
    await (
      await h.platform("imp-race")
    ).admin.tenants.update.mutate({ settings: { limits: { imports: 2 } } });
    const statuses = await Promise.all(
      [1, 2, 3].map(async (n) => (await upload(key, `First Name,Last Name\nR${n},B\n`)).status),
    );
    expect(statuses.sort()).toEqual([202, 202, 429]);
    expect(await unfinished("imp-race")).toBe("2");
  });

  it("refuses an export while the tenant's limit of exports streams, and takes one again once one ends", async () => {
    const client = await h.tenantClient("exp-limit");
    const key = await h.keyWith("exp-limit", ["contacts:read"]);
    await (
      await h.platform("exp-limit")
    ).admin.tenants.update.mutate({ settings: { limits: { exports: 1 } } });
    for (const firstName of ["Ex", "Por", "Ted"])
      await client.contacts.create.mutate({ contact: { ...person, firstName } });
    const open = () =>
      fetch(`${h.url}/v1/exports/contacts.csv`, { headers: { authorization: `Bearer ${key}` } });
    // A lock on the contacts table holds an export after its header row, mid-stream.
    const holder = new pg.Client({ connectionString: h.db.url });
    await holder.connect();
    const hold = async () => {
      await holder.query("begin");
      await holder.query("lock table contacts in access exclusive mode");
    };
    try {
      await hold();
      const first = await open();
      expect(first.status).toBe(200);
      const second = await open();
      expect(second.status).toBe(429);
      expect(second.headers.get("retry-after")).toBe("5");
      expect(((await second.json()) as { errors: unknown }).errors).toEqual([
        { reason: "rate_limited", field: null },
      ]);
      await holder.query("rollback");
      expect((await first.text()).trim().split("\n")).toHaveLength(4);
      // A finished export frees its slot; so does a reader that leaves mid-stream.
      await hold();
      const left = await open();
      expect(left.status).toBe(200);
      await left.body?.cancel();
      await holder.query("rollback");
      let next = await open();
      for (let i = 0; next.status === 429 && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 20));
        next = await open();
      }
      expect(next.status).toBe(200);
      expect((await next.text()).trim().split("\n")).toHaveLength(4);
    } finally {
      await holder.end();
    }
  });
});

describe("a request whose headers do not arrive in time", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ http: { headersTimeoutMs: 1000 } });
  });

  afterAll(async () => {
    await h.close();
  });

  it("is a 408 with the JSON error body, and the connection is closed", async () => {
    const { port } = new URL(h.url);
    const socket = connect(Number(port), "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (part: string) => (text += part));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    // The request line and one header, then nothing: the rest of the headers never comes.
    socket.write(
      `POST /trpc/contacts.create HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.alphaKey}\r\n`,
    );
    await closed;
    const [head = "", body = ""] = text.split("\r\n\r\n");
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(head).toContain("Content-Type: application/json");
    const parsed = JSON.parse(body) as ErrorBody & { errors: unknown };
    expect(parsed.errors).toEqual([{ reason: "timeout", field: null }]);
    expect(parsed.error.data).toMatchObject({ httpStatus: 408, code: "TIMEOUT" });
  }, 15_000);
});
