import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";
import { createContactsClient } from "@contacts/client/client";

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
