import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { createContactsClient } from "@contacts/client/client";
import { freePort } from "@contacts/db/postgres";
import { createTestDatabase } from "@contacts/db/testing/test-database";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

/**
 * `npm start` builds, then runs each app's own `start` script. This test runs those scripts (the
 * build is a dependency of this package's test task) against an empty data folder, with no
 * DATABASE_URL, so the embedded PostgreSQL is created, migrated and reused exactly as on a fresh machine.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-boot-"));
const running: ChildProcess[] = [];

function start(workspace: string): { child: ChildProcess; output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, CONTACTS_DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info" };
  delete env.DATABASE_URL;
  const child = spawn("npm", ["run", "start", "--silent", "-w", workspace], {
    cwd: repoRoot,
    env,
    detached: true,
  });
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
  running.push(child);
  return { child, output: () => text };
}

async function waitFor(
  { child, output }: { child: ChildProcess; output: () => string },
  pattern: RegExp,
  ms: number,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const match = pattern.exec(output());
    if (match) return match;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${pattern} (exit code ${child.exitCode}); output so far:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return; // the group is already gone
  }
  await exited;
}

afterAll(async () => {
  for (const child of running) await stop(child);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start on an empty machine", () => {
  let url = "";
  let key = "";
  let contactId = "";

  it("creates the embedded database, prints the URL and a development key, and answers /health", async () => {
    const api = start("@contacts/api");
    const worker = start("@contacts/worker");
    const [, printedUrl] = await waitFor(api, /Contacts API: (http:\/\/\S+)\/trpc/, 90_000);
    const [, printedKey] = await waitFor(api, /Development API key for tenant "demo": (ck_\S+)/, 5_000);
    url = printedUrl ?? "";
    key = printedKey ?? "";
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect(fs.existsSync(path.join(dataDir, "pg", "PG_VERSION"))).toBe(true);

    const client = createContactsClient({ url, apiKey: key });
    const created = await client.contacts.create.mutate({
      contact: { subtype: "company", companyName: "Boot Co" },
    });
    contactId = created.id;
    expect(created.number).toBe(1);
    await waitFor(worker, /worker ready/, 60_000);
    await stop(worker.child);
    await stop(api.child);
  }, 150_000);

  it("reuses the same database and key on the next start", async () => {
    const api = start("@contacts/api");
    const [, printedUrl] = await waitFor(api, /Contacts API: (http:\/\/\S+)\/trpc/, 60_000);
    const [, printedKey] = await waitFor(api, /Development API key for tenant "demo": (ck_\S+)/, 5_000);
    expect(printedKey).toBe(key);
    const client = createContactsClient({ url: printedUrl ?? "", apiKey: key });
    expect(await client.contacts.get.query({ id: contactId, fields: ["companyName"] })).toEqual({
      id: contactId,
      companyName: "Boot Co",
    });
    await stop(api.child);
  }, 120_000);
});

describe("the contacts command on a fresh clone", () => {
  const clientDir = path.join(repoRoot, "packages/client");
  const manifest = JSON.parse(fs.readFileSync(path.join(clientDir, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  const bin = manifest.bin.contacts ?? "";

  it("is a committed file, so `npm install` links it before anything is built", () => {
    // npm links a bin only when its target exists at install time; dist/ is built later.
    const tracked = spawnSync("git", ["ls-files", "--error-unmatch", bin], {
      cwd: clientDir,
      encoding: "utf8",
    });
    expect(tracked.status, `${bin} is not tracked by git`).toBe(0);
    expect(fs.realpathSync(path.join(repoRoot, "node_modules/.bin/contacts"))).toBe(
      fs.realpathSync(path.join(clientDir, bin)),
    );
  });

  it("runs the built CLI as the README says (`npx contacts ...`)", () => {
    const run = spawnSync("npx", ["contacts", "--help"], { cwd: repoRoot, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Usage: contacts");
    expect(run.stdout).toContain("import");
  });

  it("says how to build it, and exits non-zero, when the CLI is not built", () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-bin-"));
    try {
      fs.mkdirSync(path.join(copy, path.dirname(bin)), { recursive: true });
      fs.copyFileSync(path.join(clientDir, bin), path.join(copy, bin)); // no dist/ beside it
      const run = spawnSync(process.execPath, [path.join(copy, bin), "--help"], { encoding: "utf8" });
      expect(run.status).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("not built");
      expect(run.stderr).toContain("npm run build");
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

/** `npm start` is `turbo run start`: the same, without the builds it depends on (done by this package's test task). */
function startTurbo(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn("npx", ["turbo", "run", "start", "--only"], { cwd: repoRoot, env, detached: true });
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
  running.push(child);
  return { child, output: () => text };
}

/** A shell without the test run's database settings (an empty environment but for PATH, HOME & co.). */
function baseEnv(): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([name]) => !/^(DATABASE_|TAX_ID_|AUTH_|IMPORT_|CONTACTS_|MAX_)/.test(name),
  );
  return { ...Object.fromEntries(kept), TURBO_TELEMETRY_DISABLED: "1" };
}

/** The JSON log lines of every app in turbo's output (`<package>:start: {...}`). */
function logLines(output: string): Record<string, unknown>[] {
  return output.split("\n").flatMap((line) => {
    const json = line.slice(line.indexOf("{"));
    if (!line.includes("{")) return [];
    try {
      return [JSON.parse(json) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/**
 * Ctrl-C in a terminal: SIGINT to the whole foreground process group. Resolves with the status a
 * shell reports (128 + 2 for a command the signal ended).
 */
async function interrupt(child: ChildProcess): Promise<number | string> {
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : String(signal)))),
  );
  process.kill(-(child.pid ?? 0), "SIGINT");
  return exited;
}

describe("Ctrl-C on npm start", () => {
  it("stops the worker's queue and the API before the embedded database, logging no error", async () => {
    const env = { ...baseEnv(), CONTACTS_DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info" };
    const started = startTurbo(env);
    const [, url] = await waitFor(started, /Contacts API: (http:\/\/\S+)\/trpc/, 120_000);
    await waitFor(started, /worker ready/, 60_000);
    expect((await fetch(`${url}/health`)).status).toBe(200);

    const code = await interrupt(started.child);
    const output = started.output();
    const errors = logLines(output).filter((line) => typeof line.level === "number" && line.level >= 50);
    expect(errors, output).toEqual([]);
    // Each app went through its whole shutdown (stopping pg-boss, then the server it owns) to exit 0.
    expect(logLines(output).map((line) => line.msg)).toEqual(
      expect.arrayContaining(["stopped", "worker stopped"]),
    );
    expect(
      fs.existsSync(path.join(dataDir, "pg", "postmaster.pid")),
      "the embedded server is still running",
    ).toBe(false);
    expect(code).toBe(130); // turbo, interrupted, as any command stopped by Ctrl-C
  }, 180_000);
});

/** The variables of the README's configuration table. */
function documentedVariables(): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Configuration"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| variable")));
  const names = table
    .split("\n")
    .filter((row) => row.startsWith("| `"))
    .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] ?? ""));
  return [...new Set(names)];
}

describe("npm start passes the documented configuration", () => {
  it("hands every variable of the README's table to the apps through turbo, and each takes effect", async () => {
    const db = await createTestDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contacts-env-"));
    try {
      const { publicKey } = await generateKeyPair("ES256");
      const jwks = path.join(dir, "jwks.json");
      fs.writeFileSync(
        jwks,
        JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: "ES256", kid: "k" }] }),
      );
      const key = () =>
        Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString("base64");
      const serviceSecret = "service-secret-of-the-boot-test-0123456789";
      const port = await freePort();
      const values: Record<string, string> = {
        DATABASE_URL: db.url,
        DATABASE_APP_URL: db.appUrl,
        CONTACTS_DATA_DIR: dir,
        PORT: String(port),
        HOST: "127.0.0.1",
        API_PROCESSES: "2",
        PUBLIC_URL: "http://contacts.example.test:8443",
        LOG_LEVEL: "info",
        MAX_BODY_BYTES: "4096",
        MAX_BATCH_SIZE: "2",
        STATEMENT_TIMEOUT_MS: "20000",
        TAX_ID_KEYS: `boot1:${key()},boot2:${key()}`,
        TAX_ID_CURRENT_KEY: "boot1",
        TAX_ID_INDEX_KEY: key(),
        ALLOW_DEVELOPMENT_TAX_ID_KEYS: "1",
        NODE_ENV: "production",
        AUTH_SERVICE_JWT_SECRET: serviceSecret,
        AUTH_SERVICE_JWKS_FILE: jwks,
        AUTH_SERVICE_JWT_ISSUER: "boot-services",
        AUTH_USER_JWT_SECRET: "user-secret-of-the-boot-test-0123456789ab",
        AUTH_USER_JWKS_FILE: jwks,
        AUTH_USER_JWT_ISSUER: "boot-portal",
        AUTH_JWT_AUDIENCE: "boot-audience",
        CONTACTS_DEMO: "1",
        CONTACT_EVENTS_RETENTION_DAYS: "7",
        IMPORT_MAX_FILE_BYTES: "65536",
        IMPORT_MAX_FIELD_BYTES: "500",
        IMPORT_MAX_COLUMNS: "20",
        IMPORT_MAX_RECORDS: "1000",
        IMPORT_UPLOADS_AT_ONCE: "3",
        IMPORT_UPLOAD_IDLE_SECONDS: "20",
        IMPORT_UPLOAD_MAX_SECONDS: "600",
        IMPORT_CHUNK_RECORDS: "100",
        IMPORT_CHUNK_CHARS: "100000",
        IMPORT_PARSE_THREADS: "1",
        IMPORT_RESCAN_SECONDS: "5",
        IMPORT_STALE_SECONDS: "60",
      };
      const documented = documentedVariables();
      expect(documented.length).toBeGreaterThan(20);
      expect(documented.filter((name) => !(name in values))).toEqual([]); // the test sets each one

      const started = startTurbo({ ...baseEnv(), ...values });
      await waitFor(started, /Contacts API: http:\/\/contacts\.example\.test:8443\/trpc/, 120_000);
      const [, demoKey] = await waitFor(started, /Development API key for tenant "demo": (ck_\S+)/, 5_000);
      await waitFor(started, /worker ready/, 60_000);
      const lines = logLines(started.output());

      // Every documented variable reached an app (names only in the log, never values).
      const seen = new Set(
        lines.filter((line) => line.msg === "configuration").flatMap((line) => line.configured as string[]),
      );
      expect(documented.filter((name) => !seen.has(name))).toEqual([]);
      for (const secret of [serviceSecret, values.TAX_ID_INDEX_KEY ?? "", values.AUTH_USER_JWT_SECRET ?? ""])
        expect(started.output()).not.toContain(secret);

      const listening = lines.find((line) => line.msg === "contacts API listening");
      expect(listening).toMatchObject({ serviceTokens: true, userTokens: true, embeddedDatabase: false });
      // TAX_ID_KEYS: no development keyring was written.
      expect(fs.existsSync(path.join(dir, "tax-id-keys.json"))).toBe(false);
      // CONTACTS_DATA_DIR (+ CONTACTS_DEMO on an external database): the demo key is kept there.
      expect(fs.readFileSync(path.join(dir, "dev-api-key"), "utf8").trim()).toBe(demoKey);

      const url = `http://127.0.0.1:${port}`; // PORT and HOST
      // AUTH_SERVICE_JWT_SECRET / _ISSUER / AUTH_JWT_AUDIENCE: a platform token is accepted.
      const token = await new SignJWT({
        kind: "service",
        sub: "boot",
        tenants: "*",
        permissions: ALL_PERMISSIONS,
      })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("boot-services")
        .setAudience("boot-audience")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(serviceSecret));
      const platform = createContactsClient({ url, apiKey: token, headers: { "X-Tenant-Id": "demo" } });
      expect((await platform.contacts.search.query({})).items).toEqual([]);
      // MAX_BODY_BYTES: a body over 4096 bytes is 413.
      const big = await fetch(`${url}/trpc/contacts.create`, {
        method: "POST",
        headers: { authorization: `Bearer ${demoKey}`, "content-type": "application/json" },
        body: JSON.stringify({ contact: { subtype: "company", companyName: "x".repeat(5000) } }),
      });
      expect(big.status).toBe(413);
      // MAX_BATCH_SIZE: a batch of three calls is 400.
      const batch = await fetch(`${url}/trpc/contacts.search,contacts.search,contacts.search?batch=1`, {
        headers: { authorization: `Bearer ${demoKey}` },
      });
      expect(batch.status).toBe(400);
      // API_PROCESSES: two serving processes answer on the one port.
      const processes = new Set<string>();
      for (let i = 0; i < 20 && processes.size < 2; i++) {
        // A new connection each time (the kernel hands each to either process).
        const served = await new Promise<string>((resolve, reject) =>
          http
            .get(`${url}/health`, { agent: false }, (res) => {
              res.resume();
              resolve(String(res.headers["x-api-process"] ?? ""));
            })
            .on("error", reject),
        );
        processes.add(served);
      }
      expect([...processes].sort()).toEqual(["1", "2"]);

      const code = await interrupt(started.child);
      expect(logLines(started.output()).filter((line) => (line.level as number) >= 50)).toEqual([]);
      expect(code).toBe(130);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  }, 240_000);
});

describe("development tax-ID keys outside development", () => {
  function startApp(
    workspace: string,
    env: Record<string, string>,
  ): { child: ChildProcess; output: () => string } {
    const child = spawn("npm", ["run", "start", "--silent", "-w", workspace], {
      cwd: repoRoot,
      env: { ...baseEnv(), CONTACTS_DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info", ...env },
      detached: true,
    });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    running.push(child);
    return { child, output: () => text };
  }
  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code)),
    );

  it.each([
    ["@contacts/api", { NODE_ENV: "production" }],
    ["@contacts/api", { DATABASE_URL: "postgres://contacts@db.example.test:5432/contacts" }],
    ["@contacts/worker", { NODE_ENV: "production" }],
    ["@contacts/worker", { DATABASE_URL: "postgres://contacts@db.example.test:5432/contacts" }],
  ])(
    "%s refuses to start without TAX_ID_KEYS (%o)",
    async (workspace, env) => {
      const app = startApp(workspace, env);
      expect(await exitOf(app.child)).toBe(1);
      const fatal = logLines(app.output()).find((line) => line.level === 60);
      expect(fatal?.msg).toMatch(/TAX_ID_KEYS is not set .*ALLOW_DEVELOPMENT_TAX_ID_KEYS=1/);
      expect(app.output()).not.toContain("db.example.test");
    },
    60_000,
  );

  it("starts with them when ALLOW_DEVELOPMENT_TAX_ID_KEYS=1", async () => {
    const app = startApp("@contacts/api", { NODE_ENV: "production", ALLOW_DEVELOPMENT_TAX_ID_KEYS: "1" });
    await waitFor(app, /Contacts API: (http:\/\/\S+)\/trpc/, 90_000);
    await stop(app.child);
  }, 120_000);
});
