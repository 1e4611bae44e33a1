import { request } from "node:http";
import type { ClientRequest } from "node:http";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

// A pool of 4 connections: half of it (2) may stream uploads, the rest serves everything else.
const POOL = 4;
const IDLE_SECONDS = 3;
const MAX_SECONDS = 5;
let h: Harness;
const keys: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness({
    poolMax: POOL,
    uploadLimits: { idleSeconds: IDLE_SECONDS, maxSeconds: MAX_SECONDS },
  });
  keys.alpha = h.alphaKey;
  for (const tenant of ["charlie", "delta", "echo"]) {
    await h.tenantClient(tenant);
    keys[tenant] = await h.keyWith(tenant, ["imports:write", "contacts:read"]);
  }
});

afterAll(async () => {
  await h.close();
});

interface Answer {
  status: number;
  body: { errors?: { reason: string; field: string | null }[] };
  headers: Record<string, string | string[] | undefined>;
}

/** An upload whose body starts and then stops coming: the header line, then nothing. */
function stalledUpload(apiKey: string): { req: ClientRequest; answer: Promise<Answer> } {
  const url = new URL("/v1/imports?dryRun=true", h.url);
  const req = request(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${apiKey}`,
      "content-type": "text/csv",
      "transfer-encoding": "chunked",
    },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (part: string) => (text += part));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text) as Answer["body"],
          headers: res.headers,
        }),
      );
    });
    req.on("error", reject);
  });
  req.write("First Name,Last Name,E-mail\nAda,Lovelace,");
  return { req, answer };
}

/** Whether the promise settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    late,
  ]);
  clearTimeout(timer);
  return settled;
}

const importCount = async () =>
  Number(
    (await h.em().getConnection().execute<{ n: string }[]>("select count(*) as n from imports"))[0]?.n ?? NaN,
  );

describe("uploads that stall", () => {
  it("never hold more of the pool than they may: the rest are 429 at once and the API keeps answering", async () => {
    const before = await importCount();
    // Pool + 2 stalled uploads from three tenants: without a bound they would hold every connection.
    const tenants = ["charlie", "charlie", "delta", "delta", "echo", "echo"];
    const uploads = tenants.map((tenant) => stalledUpload(keys[tenant] ?? ""));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const answered: Answer[] = [];
    const pending: Promise<Answer>[] = [];
    for (const { answer } of uploads) {
      if (await settlesWithin(answer, 50)) answered.push(await answer);
      else pending.push(answer);
    }
    expect(answered).toHaveLength(tenants.length - POOL / 2);
    for (const refused of answered) {
      expect(refused.status).toBe(429);
      expect(refused.body.errors).toEqual([{ reason: "rate_limited", field: null }]);
      expect(refused.headers["retry-after"]).toBe("5");
    }

    // The rest of the pool still serves: health and a tenant's reads answer promptly.
    const health = await fetch(new URL("/health", h.url), { signal: AbortSignal.timeout(2000) });
    expect(health.status).toBe(200);
    await expect(h.alpha.contacts.search.query({ limit: 1 })).resolves.toBeDefined();

    // The two that stream are cut off once no byte arrives for the idle time: 408 on `file`.
    const streaming = await Promise.all(pending);
    const timedOut = streaming.filter((a) => a.status === 408);
    expect(timedOut).toHaveLength(POOL / 2);
    for (const cut of timedOut) expect(cut.body.errors).toEqual([{ reason: "timeout", field: "file" }]);
    for (const { req } of uploads) req.destroy();

    // Nothing was stored, and the slots are free again: a whole upload is accepted.
    expect(await importCount()).toBe(before);
    const ok = await fetch(new URL("/v1/imports?dryRun=true", h.url), {
      method: "POST",
      headers: { authorization: `Bearer ${keys.charlie}`, "content-type": "text/csv" },
      body: "First Name,Last Name\nAda,Lovelace\n",
    });
    expect(ok.status).toBe(202);
  }, 30_000);

  it("are bounded per tenant by its imports limit, while another tenant may still upload", async () => {
    await (await h.platform("echo")).admin.tenants.update.mutate({ settings: { limits: { imports: 1 } } });
    const first = stalledUpload(keys.echo ?? "");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = stalledUpload(keys.echo ?? "");
    const refused = await second.answer;
    expect(refused.status).toBe(429);
    expect(refused.body.errors).toEqual([{ reason: "rate_limited", field: null }]);
    expect(await settlesWithin(first.answer, 0)).toBe(false);

    // Another tenant's upload is not held back by echo's.
    const other = await fetch(new URL("/v1/imports?dryRun=true", h.url), {
      method: "POST",
      headers: { authorization: `Bearer ${keys.delta}`, "content-type": "text/csv" },
      body: "First Name,Last Name\nGrace,Hopper\n",
    });
    expect(other.status).toBe(202);
    expect((await first.answer).status).toBe(408);
    first.req.destroy();
    second.req.destroy();
  }, 30_000);

  it("are cut off when they keep trickling past the upload's time, and store nothing", async () => {
    const before = await importCount();
    const started = Date.now();
    const trickle = stalledUpload(keys.delta ?? "");
    // A byte every half second: never idle for long, never done.
    const timer = setInterval(() => trickle.req.write("x"), 500);
    const answer = await trickle.answer.finally(() => clearInterval(timer));
    trickle.req.destroy();
    expect(answer.status).toBe(408);
    expect(answer.body.errors).toEqual([{ reason: "timeout", field: "file" }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(MAX_SECONDS * 1000 - 100);
    expect(await importCount()).toBe(before);
  }, 30_000);
});
