import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrm } from "@contacts/db/orm";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import type { TestDatabase } from "@contacts/db/testing/test-database";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { createTenantWithKey } from "./tenants/tenant.service.js";

/**
 * Several API processes started the way `npm start` starts them (apps/api/dist/main.js with
 * API_PROCESSES=2, node:cluster), against a real database: requests spread over both, a revoked
 * key is refused everywhere within 1 s, one tenant's request budget is shared, tenants stay apart,
 * and SIGTERM answers what is in flight before every process exits.
 */
const apiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-cluster-"));
let db: TestDatabase;
let primary: ChildProcess;
let output = "";
let port = 0;
const keys: Record<"a" | "b" | "limited", { key: string; id: string }> = {
  a: { key: "", id: "" },
  b: { key: "", id: "" },
  limited: { key: "", id: "" },
};

interface Answer {
  status: number;
  process: string;
  body: unknown;
}

/** One request on a new connection (so the kernel hands it to either process). */
function request(
  method: "GET" | "POST",
  route: string,
  key: string,
  body?: unknown,
  agent: http.Agent | false = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: route,
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { "content-type": "application/json" } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            process: String(res.headers["x-api-process"] ?? ""),
            body: text ? (JSON.parse(text) as unknown) : null,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const search = (key: string, agent: http.Agent | false = false) =>
  request("GET", `/trpc/contacts.search?input=${encodeURIComponent("{}")}`, key, undefined, agent);

beforeAll(async () => {
  db = await createTestDatabase();
  const orm = await createOrm({ url: db.url, poolMax: 1 });
  try {
    for (const [name, perMinute] of [
      ["a", 1_000_000],
      ["b", 1_000_000],
      ["limited", 10],
    ] as const) {
      const { apiKey } = await createTenantWithKey(orm.em.fork(), {
        tenant: {
          id: `cluster-${name}`,
          name,
          settings: { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: perMinute } },
        },
        keyName: name,
        permissions: ALL_PERMISSIONS,
        createdBy: "cluster-test",
      });
      keys[name] = { key: apiKey.key, id: apiKey.id };
    }
  } finally {
    await orm.close();
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    CONTACTS_DATA_DIR: dataDir,
    ALLOW_DEVELOPMENT_TAX_ID_KEYS: "1",
    CONTACTS_DEMO: "0",
    API_PROCESSES: "2",
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
  };
  delete env.DATABASE_APP_URL;
  primary = spawn(process.execPath, ["dist/main.js"], { cwd: apiDir, env });
  primary.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  primary.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const match = /Contacts API: http:\/\/127\.0\.0\.1:(\d+)\/trpc/.exec(output);
    if (match) {
      port = Number(match[1]);
      break;
    }
    if (primary.exitCode !== null || Date.now() > deadline)
      throw new Error(`the API did not start (exit ${String(primary.exitCode)}):\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const name of ["a", "b"] as const) {
    for (let i = 0; i < 3; i++) {
      const created = await request("POST", "/trpc/contacts.create", keys[name].key, {
        contact: { subtype: "person", firstName: name, lastName: `Contact ${String(i)}` },
      });
      expect(created.status).toBe(200);
    }
  }
}, 120_000);

afterAll(async () => {
  if (primary.exitCode === null && primary.signalCode === null) {
    const exited = new Promise((r) => primary.once("exit", r));
    primary.kill("SIGTERM");
    await exited;
  }
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start with API_PROCESSES=2", () => {
  it("spreads requests over both processes", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const answer = await search(keys.a.key);
      expect(answer.status).toBe(200);
      seen.add(answer.process);
    }
    expect([...seen].sort()).toEqual(["1", "2"]);
  });

  it("keeps two tenants apart over 2 x 1000 interleaved requests across both processes", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const served = { a: new Set<string>(), b: new Set<string>() };
      const own = { a: new Set<string>(), b: new Set<string>() };
      for (const name of ["a", "b"] as const) {
        const first = await search(keys[name].key);
        const items = (first.body as { result: { data: { items: { id: string }[] } } }).result.data.items;
        for (const item of items) own[name].add(item.id);
        expect(own[name].size).toBe(3);
      }
      for (let batch = 0; batch < 125; batch++) {
        const calls = Array.from({ length: 16 }, (_, i): "a" | "b" => (i % 2 === 0 ? "a" : "b"));
        const answers = await Promise.all(calls.map((name) => search(keys[name].key, agent)));
        answers.forEach((answer, i) => {
          const name = i % 2 === 0 ? "a" : "b";
          expect(answer.status).toBe(200);
          served[name].add(answer.process);
          const items = (answer.body as { result: { data: { items: { id: string }[] } } }).result.data.items;
          expect(items.map((c) => c.id).sort()).toEqual([...own[name]].sort());
        });
      }
      expect(served.a.size).toBe(2);
      expect(served.b.size).toBe(2);
    } finally {
      agent.destroy();
    }
  }, 120_000);

  it("refuses a key revoked through one process in every process within 1 s", async () => {
    // A second key of tenant b, used (and so cached) by both processes.
    const created = await request("POST", "/trpc/admin.apiKeys.create", keys.b.key, {
      name: "to revoke",
      permissions: ["contacts:read"],
    });
    expect(created.status).toBe(200);
    const second = (created.body as { result: { data: { id: string; key: string } } }).result.data;
    const cachedIn = new Set<string>();
    while (cachedIn.size < 2) {
      const answer = await search(second.key);
      expect(answer.status).toBe(200);
      cachedIn.add(answer.process);
    }
    const revoked = await request("POST", "/trpc/admin.apiKeys.revoke", keys.b.key, { id: second.id });
    expect(revoked.status).toBe(200);
    const revokedAt = Date.now();
    const refusedBy = new Set<string>();
    while (refusedBy.size < 2 && Date.now() - revokedAt < 1_000) {
      const answer = await search(second.key);
      if (answer.status === 401) refusedBy.add(answer.process);
      else refusedBy.delete(answer.process);
    }
    expect([...refusedBy].sort()).toEqual(["1", "2"]);
    // And it stays refused.
    for (let i = 0; i < 6; i++) expect((await search(second.key)).status).toBe(401);
  });

  it("holds a tenant to one per-minute budget across the processes; another tenant is unaffected", async () => {
    // 10 a minute in all: each process alone would allow 10, so two separate budgets would let 20 through.
    let ok = 0;
    const refusedBy = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const answer = await search(keys.limited.key);
      if (answer.status === 200) ok++;
      else {
        expect(answer.status).toBe(429);
        refusedBy.add(answer.process);
      }
    }
    // The budget, plus at most one lease (1 token at this rate) outstanding per process.
    expect(ok).toBeGreaterThanOrEqual(8);
    expect(ok).toBeLessThanOrEqual(12);
    expect([...refusedBy].sort()).toEqual(["1", "2"]);
    const other = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const answer = await search(keys.a.key);
      expect(answer.status).toBe(200);
      other.add(answer.process);
    }
    expect(other.size).toBe(2);
  });

  it("on SIGTERM answers the request in flight, then every process exits", async () => {
    // An upload whose body is still arriving when the signal comes.
    const answered = new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/imports?mode=insert",
          agent: false,
          headers: { authorization: `Bearer ${keys.a.key}`, "content-type": "text/csv" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write("First Name,Last Name\n");
      setTimeout(() => {
        req.write("Shut,Down\n");
        setTimeout(() => {
          primary.kill("SIGTERM");
          setTimeout(() => req.end("Still,Answered\n"), 500);
        }, 300);
      }, 300);
    });
    const exited = new Promise<number | null>((resolve) => primary.once("exit", (code) => resolve(code)));
    expect(await answered).toBe(202);
    expect(await exited).toBe(0);
    expect(output).toMatch(/"msg":"stopped"/);
    // Nothing logged at error level or above by any process.
    expect(output).not.toMatch(/"level":(50|60)/);
  }, 60_000);
});
