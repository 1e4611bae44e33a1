import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const cli = path.join(repo, "packages/client/src/cli.ts");
const tsx = path.join(repo, "node_modules/.bin/tsx");

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

/** Runs the `contacts` CLI from source, with credentials from the environment. */
function run(args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(tsx, [cli, ...args], {
    env: { ...process.env, CONTACTS_URL: h.url, CONTACTS_API_KEY: h.alphaKey },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return { done: new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))) };
}

describe("the contacts CLI", () => {
  it("uploads, follows the import to its end and prints the summary and the error report", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "contacts-cli-"));
    const file = path.join(dir, "people.csv");
    writeFileSync(file, "Given,Family,Email\nAda,Lovelace,ada@example.com\nBad,Row,nope\n");
    const { done } = run([
      "import",
      file,
      "--mode",
      "upsert",
      "--match",
      "email",
      "--map",
      "Given=firstName",
    ]);
    const sql = h.em().getConnection();
    let row: { id: string; mapping: unknown; file_name: string } | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      [row] = await sql.execute<{ id: string; mapping: unknown; file_name: string }[]>(
        "select id, mapping, file_name from imports where tenant_id = 'alpha' and match_on = 'email'",
      );
      if (!row) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!row) throw new Error("the CLI did not upload");
    expect(row).toMatchObject({ mapping: { Given: "firstName" }, file_name: "people.csv" });
    // As the worker would finish it.
    await sql.execute(
      `update imports set state = 'completed', started_at = now() - interval '1 second', finished_at = now(),
         processed = 2, inserted = 1, failed = 1, total_records = 2 where id = ?`,
      [row.id],
    );
    const { code, stdout } = await done;
    expect(stdout).toContain(`Import ${row.id}: completed`);
    expect(stdout).toContain("processed 2, inserted 1, updated 0, unchanged 0, failed 1");
    expect(stdout).toContain(`${h.url}/v1/imports/${row.id}/failed-rows.csv`);
    expect(stdout).toContain(`contacts errors ${row.id}`);
    expect(code).toBe(2);
  }, 30_000);

  it("exports a search as CSV and explains a bad option", async () => {
    await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Cli", lastName: "Exported" },
    });
    const exported = await run(["export", "--search", '{"lastName":"Exported"}']).done;
    expect(exported.code).toBe(0);
    // The header and the one record, read by column (no cell here holds a comma).
    const [header = "", record = ""] = exported.stdout.replace(/^\uFEFF/, "").split("\n");
    const cells = Object.fromEntries(header.split(",").map((name, i) => [name, record.split(",")[i]]));
    expect(cells).toMatchObject({ "First Name": "Cli", "Last Name": "Exported" });
    const bad = await run(["import", path.join(repo, "README.md"), "--map", "A=nonsense", "--no-wait"]).done;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("400 mapping.A: invalid");
  }, 30_000);
});
