import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFailedRows, uploadImport } from "@contacts/client/csv";
import type { UploadImportOptions } from "@contacts/client/csv";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;
const MAX_FILE = 64 * 1024;

beforeAll(async () => {
  h = await startHarness({ jobQueue: true, importLimits: { maxFileBytes: MAX_FILE } });
  // No worker runs here, so every upload stays queued: lift the tenants' limit of unfinished
  // imports (limits.api.test.ts tests it) above what these tests leave queued.
  for (const tenant of ["alpha", "bravo"]) {
    await (await h.platform(tenant)).admin.tenants.update.mutate({ settings: { limits: { imports: 100 } } });
  }
});

afterAll(async () => {
  if (process.env.SHOW_LOGS) console.log(h.logs.filter((l) => l.includes("failed")).join(""));
  await h.close();
});

const csv = (rows: string[]) => `\uFEFFFirst Name;Last Name;E-mail\n${rows.join("\n")}\n`;
const upload = (body: string | Uint8Array, options: UploadImportOptions = {}, apiKey = h.alphaKey) =>
  uploadImport(
    { url: h.url, apiKey },
    typeof body === "string" ? new TextEncoder().encode(body) : body,
    options,
  );

async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  return h.em().getConnection().execute<T[]>(text, params);
}
const countImports = async (tenant = "alpha") =>
  Number((await sql<{ n: string }>("select count(*) as n from imports where tenant_id = ?", [tenant]))[0]?.n);

describe("POST /v1/imports", () => {
  it("stores the file in chunks, snapshots the limits and queues one job", async () => {
    const file = csv(Array.from({ length: 3 }, (_, i) => `Ada${i};Lovelace;ada${i}@example.com`));
    const created = await upload(file, { mode: "upsert", matchOn: "email", fileName: "people.csv" });
    expect(created).toMatchObject({ state: "queued", existing: false });
    const [row] = await sql<Record<string, unknown>>("select * from imports where id = ?", [
      created.importId,
    ]);
    expect(row).toMatchObject({
      tenant_id: "alpha",
      mode: "upsert",
      match_on: "email",
      dry_run: false,
      delimiter: ";",
      file_name: "people.csv",
      file_bytes: String(Buffer.byteLength(file)),
      limits: { maxFileBytes: MAX_FILE, maxFieldBytes: 10_000, maxColumns: 100, maxRecords: 2_000_000 },
    });
    const chunks = await sql<{ data: Buffer }>(
      "select data from import_chunks where import_id = ? order by seq",
      [created.importId],
    );
    expect(Buffer.concat(chunks.map((c) => c.data)).toString("utf8")).toBe(file);
    const jobs = await sql<{ name: string; data: unknown; singleton_key: string }>(
      "select name, data, singleton_key from pgboss.job where singleton_key = ?",
      [created.importId],
    );
    expect(jobs).toEqual([
      {
        name: "contacts-import",
        data: { tenantId: "alpha", importId: created.importId },
        singleton_key: created.importId,
      },
    ]);
  });

  it("answers a second upload of the same file and options, or the same key, with the first import", async () => {
    const file = csv([`Grace;Hopper;grace-${randomUUID()}@example.com`]);
    const first = await upload(file, { dryRun: true });
    const before = await countImports();
    expect(await upload(file, { dryRun: true })).toEqual({ ...first, existing: true });
    expect(await countImports()).toBe(before);
    const other = await upload(file, { dryRun: false });
    expect(other.existing).toBe(false);
    expect(other.importId).not.toBe(first.importId);
    // Bravo uploading the same file is bravo's own import.
    const theirs = await upload(file, { dryRun: true }, await h.keyWith("bravo", ["imports:write"]));
    expect(theirs.existing).toBe(false);

    const key = randomUUID();
    const keyed = await upload(csv([`K;L;${randomUUID()}@example.com`]), { idempotencyKey: key });
    const retried = await upload(csv([`another;file;${randomUUID()}@example.com`]), { idempotencyKey: key });
    expect(retried).toEqual({ ...keyed, existing: true });
  });

  it("refuses a file over the size limit with 413 on `file`, storing nothing", async () => {
    const before = await countImports();
    const big = csv(Array.from({ length: 4000 }, (_, i) => `Name${i};Surname;x${i}@example.com`));
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX_FILE);
    const error = await rejection(upload(big));
    expect(error.status).toBe(413);
    expect(error.errors).toEqual([{ reason: "payload_too_large", field: "file" }]);
    // Streamed without a length: refused while reading.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++)
          controller.enqueue(new TextEncoder().encode(big.slice(i * 10_000, (i + 1) * 10_000)));
        controller.close();
      },
    });
    const streamed = await rejection(uploadImport({ url: h.url, apiKey: h.alphaKey }, stream));
    expect(streamed.status).toBe(413);
    expect(await countImports()).toBe(before);
    expect((await sql<{ n: string }>("select count(*) as n from import_chunks"))[0]?.n).toBe(
      (
        await sql<{ n: string }>(
          "select count(*) as n from import_chunks c join imports i on i.id = c.import_id",
        )
      )[0]?.n,
    );
  });

  it("names the field of a bad option, an unknown account, an empty file", async () => {
    const file = csv(["A;B;a@example.com"]);
    const cases: [UploadImportOptions, string, string][] = [
      [{ mode: "merge" as never }, "mode", "invalid"],
      [{ matchOn: "phone" as never }, "matchOn", "invalid"],
      [{ mapping: { "First Name": "givenName" as never } }, "mapping.First Name", "invalid"],
      [{ accountId: "not-a-uuid" }, "accountId", "invalid"],
      [{ accountId: randomUUID() }, "accountId", "unknown_reference"],
    ];
    for (const [options, field, reason] of cases) {
      const error = await rejection(upload(file, options));
      expect(error.status, field).toBe(400);
      expect(error.errors).toContainEqual({ reason, field });
    }
    const empty = await rejection(upload(""));
    expect(empty.errors).toEqual([{ reason: "required", field: "file" }]);
    const noKey = await rejection(upload(file, {}, "ck_nope"));
    expect(noKey.status).toBe(401);
    const reader = await rejection(upload(file, {}, await h.keyWith("alpha", ["contacts:read"])));
    expect(reader.status).toBe(403);
  });

  it("accepts an explicit mapping and an account of the tenant", async () => {
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key: randomUUID(), name: "Imp" },
    });
    const created = await upload("Given,Family\nAda,Lovelace\n", {
      accountId: account.id,
      mapping: { Given: "firstName", Family: "lastName", Ignored: null },
    });
    const [row] = await sql<{ mapping: unknown; account_id: string; delimiter: string }>(
      "select mapping, account_id, delimiter from imports where id = ?",
      [created.importId],
    );
    expect(row).toEqual({
      mapping: { Given: "firstName", Family: "lastName", Ignored: null },
      account_id: account.id,
      delimiter: ",",
    });
  });
});

describe("imports.get / list / cancel / errors", () => {
  it("shows state, counts, speed and ETA", async () => {
    const { importId } = await upload(csv([`P;Q;${randomUUID()}@example.com`]));
    const queued = await h.alpha.imports.get.query({ id: importId });
    expect(queued).toMatchObject({
      id: importId,
      state: "queued",
      mode: "insert",
      matchOn: "externalId",
      counts: { processed: 0, inserted: 0, updated: 0, unchanged: 0, failed: 0 },
      totalRecords: null,
      rowsPerSecond: null,
      etaSeconds: null,
      failedRowsUrl: null,
    });
    // As the worker would record it: 100 of 400 records in 10 s.
    await sql(
      `update imports set state = 'running', started_at = now() - interval '10 seconds', processed = 100,
         inserted = 90, failed = 10, total_records = 400 where id = ?`,
      [importId],
    );
    const running = await h.alpha.imports.get.query({ id: importId });
    expect(running.rowsPerSecond).toBeGreaterThan(9);
    expect(running.rowsPerSecond).toBeLessThanOrEqual(10);
    expect(running.etaSeconds).toBeGreaterThanOrEqual(29);
    expect(running.etaSeconds).toBeLessThanOrEqual(32);
    expect(running.failedRowsUrl).toBe(`/v1/imports/${importId}/failed-rows.csv`);
  });

  it("lists newest first, by state, in pages", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await upload(csv([`L${i};M;${randomUUID()}@example.com`]))).importId);
    const first = await h.alpha.imports.list.query({ limit: 2 });
    expect(first.items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
    const second = await h.alpha.imports.list.query({ limit: 2, cursor: first.nextCursor });
    expect(second.items[0]?.id).toBe(ids[0]);
    const cancelled = await h.alpha.imports.list.query({ state: "cancelled", limit: 1000 });
    expect(cancelled.items.every((i) => i.state === "cancelled")).toBe(true);
    expect((await h.bravo.imports.list.query({ limit: 1000 })).items.map((i) => i.id)).not.toContain(ids[0]);
  });

  it("cancels a queued import at once, flags a running one, and refuses a finished one", async () => {
    const queued = (await upload(csv([`C;D;${randomUUID()}@example.com`]))).importId;
    expect(await h.alpha.imports.cancel.mutate({ id: queued })).toMatchObject({
      state: "cancelled",
      cancelRequested: true,
    });
    const running = (await upload(csv([`E;F;${randomUUID()}@example.com`]))).importId;
    await sql("update imports set state = 'running', started_at = now() where id = ?", [running]);
    expect(await h.alpha.imports.cancel.mutate({ id: running })).toMatchObject({
      state: "running",
      cancelRequested: true,
    });
    const error = await rejection(h.alpha.imports.cancel.mutate({ id: queued }));
    expect(error.status).toBe(409);
    expect(error.errors).toEqual([{ reason: "conflict", field: "id" }]);
  });

  it("pages the errors and writes the failed rows with an Error column", async () => {
    const file = csv([
      "Ada;Lovelace;ada@example.com",
      "Bad;Email;not-an-email",
      '"=cmd";Quote;q@example.com',
      "Fine;Row;fine@example.com",
      "Two;Errors;also-bad",
    ]);
    const { importId } = await upload(file);
    const errors: [number, number, string | null, string][] = [
      [2, 0, "E-mail", "invalid"],
      [3, 0, "First Name", "invalid"],
      [5, 0, "E-mail", "invalid"],
      [5, 1, "Roles", "unknown_reference"],
    ];
    for (const [record, seq, column, reason] of errors) {
      await sql(
        "insert into import_errors (tenant_id, import_id, record_number, seq, column_name, reason, value) values ('alpha', ?, ?, ?, ?, ?, '***')",
        [importId, record, seq, column, reason],
      );
    }
    await sql("update imports set state = 'completed', failed = 3 where id = ?", [importId]);
    const page1 = await h.alpha.imports.errors.query({ id: importId, limit: 3 });
    expect(page1.items).toEqual([
      { recordNumber: 2, column: "E-mail", reason: "invalid", value: "***" },
      { recordNumber: 3, column: "First Name", reason: "invalid", value: "***" },
      { recordNumber: 5, column: "E-mail", reason: "invalid", value: "***" },
    ]);
    const page2 = await h.alpha.imports.errors.query({ id: importId, limit: 3, cursor: page1.nextCursor });
    expect(page2).toEqual({
      items: [{ recordNumber: 5, column: "Roles", reason: "unknown_reference", value: "***" }],
      nextCursor: null,
    });

    const report = await new Response(
      await downloadFailedRows({ url: h.url, apiKey: h.alphaKey }, importId),
    ).text();
    expect(report).toBe(
      [
        "First Name,Last Name,E-mail,Error",
        "Bad,Email,not-an-email,E-mail: invalid",
        "'=cmd,Quote,q@example.com,First Name: invalid",
        "Two,Errors,also-bad,E-mail: invalid; Roles: unknown_reference",
        "",
      ].join("\n"),
    );
  });

  it("keeps another tenant's import out of reach (404) on every route", async () => {
    const { importId } = await upload(csv([`X;Y;${randomUUID()}@example.com`]));
    for (const call of [
      () => h.bravo.imports.get.query({ id: importId }),
      () => h.bravo.imports.cancel.mutate({ id: importId }),
      () => h.bravo.imports.errors.query({ id: importId }),
    ]) {
      const error = await rejection(call());
      expect(error.status).toBe(404);
      expect(error.errors).toEqual([{ reason: "not_found", field: "id" }]);
    }
    const bravoKey = await h.keyWith("bravo", ["imports:write"]);
    const report = await rejection(downloadFailedRows({ url: h.url, apiKey: bravoKey }, importId));
    expect(report.status).toBe(404);
    expect((await h.alpha.imports.get.query({ id: importId })).state).toBe("queued");
  });
});
