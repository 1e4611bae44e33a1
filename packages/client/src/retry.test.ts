import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { fetchWithRetry, retryAfterMs } from "./retry.js";

/** A real HTTP server that answers with the next status of a script, recording when each request came. */
let url = "";
let script: { status: number; retryAfter?: string }[] = [];
const arrivals: number[] = [];
const server = createServer((_req, res) => {
  arrivals.push(Date.now());
  const step = script.shift() ?? { status: 200 };
  res.writeHead(step.status, step.retryAfter ? { "retry-after": step.retryAfter } : {});
  res.end(JSON.stringify({ status: step.status }));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("fetchWithRetry", () => {
  it("retries a 429 after the Retry-After delay, then returns the success", async () => {
    script = [{ status: 429, retryAfter: "1" }, { status: 200 }];
    arrivals.length = 0;
    const response = await fetchWithRetry({ retries: 3, baseDelayMs: 10 })(url);
    expect(response.status).toBe(200);
    expect(arrivals).toHaveLength(2);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("retries a 503 with backoff when no Retry-After is sent", async () => {
    script = [{ status: 503 }, { status: 503 }, { status: 200 }];
    arrivals.length = 0;
    const response = await fetchWithRetry({ retries: 3, baseDelayMs: 20 })(url);
    expect(response.status).toBe(200);
    expect(arrivals).toHaveLength(3);
  });

  it("gives up after the configured number of retries and returns the last answer", async () => {
    script = [
      { status: 429, retryAfter: "0" },
      { status: 429, retryAfter: "0" },
      { status: 429, retryAfter: "0" },
    ];
    arrivals.length = 0;
    const response = await fetchWithRetry({ retries: 2, baseDelayMs: 1 })(url);
    expect(response.status).toBe(429);
    expect(arrivals).toHaveLength(3);
  });

  it("returns a 429 without Retry-After at once: a limit waiting does not lift", async () => {
    script = [{ status: 429 }, { status: 200 }];
    arrivals.length = 0;
    expect((await fetchWithRetry({ retries: 3, baseDelayMs: 1 })(url)).status).toBe(429);
    expect(arrivals).toHaveLength(1);
    script = [];
  });

  it("does not retry other errors", async () => {
    script = [{ status: 500 }, { status: 200 }];
    arrivals.length = 0;
    expect((await fetchWithRetry({ retries: 3, baseDelayMs: 1 })(url)).status).toBe(500);
    expect(arrivals).toHaveLength(1);
    script = [];
  });
});

describe("retryAfterMs", () => {
  it("reads seconds and HTTP dates", () => {
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(
      10_000,
    );
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs("soon")).toBeNull();
  });
});
