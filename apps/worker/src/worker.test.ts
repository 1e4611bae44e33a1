import type { TestDatabase } from "@contacts/db/testing/test-database";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { IMPORT_QUEUE } from "@contacts/domain/import-job";
import {
  createTenant,
  importState,
  insertImport,
  sendImportJob,
  waitForImport,
  withClient,
} from "./testing/import-fixtures.js";
import { startTestWorker } from "./testing/import-fixtures.js";
import type { TestWorker } from "./testing/import-fixtures.js";
import type { RunningWorker } from "./worker.js";

let testWorker: TestWorker;
let db: TestDatabase;
let worker: RunningWorker;

beforeAll(async () => {
  testWorker = await startTestWorker();
  ({ db, worker } = testWorker);
});

afterAll(() => testWorker.stop());

const runImport: TestWorker["runImport"] = (...args) => testWorker.runImport(...args);

interface ContactRow {
  external_id: string | null;
  first_name: string | null;
  last_name: string | null;
  version: number;
  import_id: string | null;
  import_record_number: number | null;
  import_source_file: string | null;
  loaded_at: Date | null;
  match_keys: string[];
  emails: { address: string }[];
  tax_id_ciphertext: string | null;
}

function contacts(tenantId: string): Promise<ContactRow[]> {
  return withClient(
    db.url,
    async (c) =>
      (await c.query<ContactRow>("select * from contacts where tenant_id = $1 order by number", [tenantId]))
        .rows,
  );
}

const HEADER = "External ID,First Name,Last Name,Email,Roles,Date of Birth,Tax ID\n";

describe("worker", () => {
  it("starts pg-boss on the application database with the import queue", async () => {
    const schema = await withClient(db.url, (c) =>
      c.query("select 1 from information_schema.schemata where schema_name = 'pgboss'"),
    );
    expect(schema.rowCount).toBe(1);
    expect(await worker.boss.getQueue(IMPORT_QUEUE)).toMatchObject({ name: IMPORT_QUEUE });
  });

  it("inserts every record with provenance, events and match keys", async () => {
    const tenant = await createTenant(db.url);
    const csv =
      HEADER +
      [1, 2, 3, 4, 5, 6, 7]
        .map((i) => `x${i},Ann${i},Lee,ann${i}@example.com,PRIMARY,1980-01-0${i},123-45-678${i}`)
        .join("\n");
    const { importId, state, errors } = await runImport(tenant, csv);
    expect(errors).toEqual([]);
    expect(state).toMatchObject({
      state: "completed",
      total_records: 7,
      processed: 7,
      inserted: 7,
      checkpoint: 7,
    });
    const rows = await contacts(tenant);
    expect(rows.map((r) => r.import_record_number)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const r of rows) {
      expect(r).toMatchObject({ import_id: importId, import_source_file: "contacts.csv", version: 1 });
      expect(r.loaded_at).toBeInstanceOf(Date);
      expect(r.match_keys).toContain(`e:${r.emails[0]?.address}`);
      expect(r.tax_id_ciphertext).toMatch(/^v1\./);
    }
    const events = await withClient(db.url, (c) =>
      c.query<{ type: string; patch: { op: string; path: string; value: unknown }[] }>(
        "select type, patch from contact_events where tenant_id = $1",
        [tenant],
      ),
    );
    expect(events.rows).toHaveLength(7);
    const created = events.rows[0]?.patch ?? [];
    expect(created.map((op) => [op.op, op.path])).toEqual([["add", ""]]);
    expect((created[0]?.value as { taxId: string }).taxId).toMatch(/^\*\*\*-\*\*-\d{4}$/);
    const count = await withClient(db.url, (c) =>
      c.query<{ contact_count: string }>("select tenant_contact_count($1)::text as contact_count", [tenant]),
    );
    expect(count.rows[0]?.contact_count).toBe("7");
  });

  it("upserts by external id: inserted, updated and unchanged, only the file's columns set", async () => {
    const tenant = await createTenant(db.url);
    await runImport(tenant, "External ID,First Name,Last Name,Job Title\na,Ann,Lee,Boss\nb,Bob,Ray,Clerk\n");
    const { state, errors } = await runImport(
      tenant,
      "External ID,First Name,Last Name\na,Ann,Lee\nb,Robert,Ray\nc,Cy,Long\n",
      { mode: "upsert" },
    );
    expect(errors).toEqual([]);
    expect(state).toMatchObject({ state: "completed", inserted: 1, updated: 1, unchanged: 1 });
    const rows = await withClient(db.url, (c) =>
      c.query<{
        external_id: string;
        first_name: string;
        job_title: string | null;
        version: number;
        import_record_number: number;
      }>(
        "select external_id, first_name, job_title, version, import_record_number from contacts where tenant_id = $1 order by external_id",
        [tenant],
      ),
    );
    expect(rows.rows).toEqual([
      { external_id: "a", first_name: "Ann", job_title: "Boss", version: 1, import_record_number: 1 },
      { external_id: "b", first_name: "Robert", job_title: "Clerk", version: 2, import_record_number: 2 },
      { external_id: "c", first_name: "Cy", job_title: null, version: 1, import_record_number: 3 },
    ]);
  });

  it("computes place keys in the insert exactly as the row trigger does", async () => {
    const tenant = await createTenant(db.url);
    await runImport(
      tenant,
      "External ID,First Name,Last Name,City,State,Country\np1,Ann,Lee,Springfield,IL,US\np2,Bob,Ray,ÖREBRO,,SE\np3,Cy,Long,,,\n",
    );
    const keys = () =>
      withClient(
        db.url,
        async (c) =>
          (
            await c.query<{
              external_id: string;
              city_keys: string[];
              state_keys: string[];
              country_keys: string[];
            }>(
              "select external_id, city_keys, state_keys, country_keys from contacts where tenant_id = $1 order by external_id",
              [tenant],
            )
          ).rows,
      );
    const imported = await keys();
    expect(imported).toEqual([
      { external_id: "p1", city_keys: ["springfield"], state_keys: ["il"], country_keys: ["us"] },
      { external_id: "p2", city_keys: ["örebro"], state_keys: [], country_keys: ["se"] },
      { external_id: "p3", city_keys: [], state_keys: [], country_keys: [] },
    ]);
    // The trigger recomputes them on an update of the addresses: nothing differs.
    await withClient(db.url, (c) =>
      c.query("update contacts set addresses = addresses where tenant_id = $1", [tenant]),
    );
    expect(await keys()).toEqual(imported);
  });

  it("re-applies a chunk with locks when a matched contact changes between its read and its update", async () => {
    const tenant = await createTenant(db.url);
    await runImport(tenant, "External ID,First Name,Last Name,Job Title\nk1,Kim,Lee,Clerk\n");
    // Another writer changes the contact and holds its transaction open while the import runs: the
    // import reads version 1, its update waits for the row, then finds version 2 and starts over.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query("begin");
      await other.query(
        "update contacts set job_title = 'Manager', version = version + 1 where tenant_id = $1 and external_id = 'k1'",
        [tenant],
      );
      const importId = await insertImport(
        db.url,
        tenant,
        "External ID,First Name,Last Name\nk1,Kimberly,Lee\n",
        {
          mode: "upsert",
        },
      );
      await worker.boss.send(IMPORT_QUEUE, { tenantId: tenant, importId }, { singletonKey: importId });
      for (let i = 0; ; i++) {
        const waiting = await other.query(
          "select 1 from pg_locks where not granted and relation = 'contacts'::regclass or (not granted and locktype = 'transactionid')",
        );
        if (waiting.rowCount) break;
        if (i > 500) throw new Error("the import never waited for the row");
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query("commit");
      const state = await waitForImport(db.url, tenant, importId);
      expect(state).toMatchObject({ state: "completed", updated: 1, unchanged: 0, failed: 0 });
      // ... in the same run: the job was not failed and retried.
      const job = await other.query<{ retry_count: number }>(
        "select retry_count from pgboss.job where data ->> 'importId' = $1",
        [importId],
      );
      expect(job.rows).toEqual([{ retry_count: 0 }]);
    } finally {
      await other.end();
    }
    const rows = await withClient(
      db.url,
      async (c) =>
        (
          await c.query<{ first_name: string; job_title: string; version: number }>(
            "select first_name, job_title, version from contacts where tenant_id = $1",
            [tenant],
          )
        ).rows,
    );
    expect(rows).toEqual([{ first_name: "Kimberly", job_title: "Manager", version: 3 }]);
    const events = await withClient(
      db.url,
      async (c) =>
        (
          await c.query<{ type: string; version: number }>(
            "select type, version from contact_events where tenant_id = $1 order by seq",
            [tenant],
          )
        ).rows,
    );
    expect(events).toEqual([
      { type: "created", version: 1 },
      { type: "updated", version: 3 },
    ]);
  });

  it("skips re-importing a record the contact was last written from, unless the contact changed since", async () => {
    const tenant = await createTenant(db.url);
    const file = "External ID,First Name,Last Name\nsa,Sam,Ash\nsb,Sue,Bay\nsc,Sid,Cole\n";
    await runImport(tenant, file);
    const sql = (text: string, params: unknown[] = []) =>
      withClient(db.url, async (c) => (await c.query<Record<string, unknown>>(text, params)).rows);
    const hashes = await sql(
      "select external_id, import_source_hash from contacts where tenant_id = $1 order by external_id",
      [tenant],
    );
    expect(hashes.map((r) => typeof r.import_source_hash)).toEqual(["string", "string", "string"]);
    // Another writer changes sb: its hash is cleared, so the re-import compares it and puts it back.
    await sql(
      "update contacts set first_name = 'Changed', version = version + 1 where tenant_id = $1 and external_id = 'sb'",
      [tenant],
    );
    expect(
      (
        await sql("select import_source_hash from contacts where tenant_id = $1 and external_id = 'sb'", [
          tenant,
        ])
      )[0],
    ).toEqual({ import_source_hash: null });
    // sa's name is changed behind the hash's back (the hash set back to its record's): the re-import
    // trusts the hash and does not even compare sa, which shows the record was skipped.
    const saHash = hashes[0]?.import_source_hash;
    await sql(
      "update contacts set first_name = 'Zed', import_source_hash = 'x' where tenant_id = $1 and external_id = 'sa'",
      [tenant],
    );
    await sql("update contacts set import_source_hash = $2 where tenant_id = $1 and external_id = 'sa'", [
      tenant,
      saHash,
    ]);

    const again = await runImport(tenant, file, { mode: "upsert" });
    expect(again.state).toMatchObject({
      state: "completed",
      processed: 3,
      updated: 1,
      unchanged: 2,
      failed: 0,
    });
    const names = await sql(
      "select external_id, first_name from contacts where tenant_id = $1 order by external_id",
      [tenant],
    );
    expect(names).toEqual([
      { external_id: "sa", first_name: "Zed" },
      { external_id: "sb", first_name: "Sue" },
      { external_id: "sc", first_name: "Sid" },
    ]);
    // The same records under another header or mapping are not the same source: compared again.
    const remapped = await runImport(tenant, "External ID,Given Name,Last Name\nsa,Sam,Ash\n", {
      mode: "upsert",
    });
    expect(remapped.state).toMatchObject({ state: "completed", updated: 1, unchanged: 0 });
  });

  it("upserts by primary email, and insert mode rejects an existing external id", async () => {
    const tenant = await createTenant(db.url);
    await runImport(tenant, "External ID,First Name,Last Name,Email\na,Ann,Lee,ann@example.com\n");
    const byEmail = await runImport(
      tenant,
      "First Name,Last Name,Email\nAnnie,Lee,ANN@example.com\nBo,Ray,bo@example.com\n",
      {
        mode: "upsert",
        matchOn: "email",
      },
    );
    expect(byEmail.state).toMatchObject({ state: "completed", inserted: 1, updated: 1 });
    const again = await runImport(tenant, "External ID,First Name,Last Name\na,Ann,Lee\n");
    expect(again.state).toMatchObject({ state: "completed", inserted: 0, failed: 1 });
    expect(again.errors).toEqual([
      { record_number: 1, seq: 1, column_name: "External ID", reason: "duplicate", value: "a" },
    ]);
    expect((await contacts(tenant)).map((r) => r.first_name)).toEqual(["Annie", "Bo"]);
  });

  it("a dry run reports and changes nothing", async () => {
    const tenant = await createTenant(db.url);
    const { state, errors } = await runImport(
      tenant,
      "First Name,Last Name,Email\nAnn,Lee,a@example.com\nBob,,b@example.com\n",
      {
        dryRun: true,
      },
    );
    expect(state).toMatchObject({ state: "completed", inserted: 1, failed: 1, processed: 2 });
    expect(errors).toEqual([
      { record_number: 2, seq: 1, column_name: "Last Name", reason: "required", value: "" },
    ]);
    expect(await contacts(tenant)).toEqual([]);
  });

  it("loads the good rows and reports every bad one with its record number, column and masked value", async () => {
    const tenant = await createTenant(db.url);
    const csv = [
      "External ID,First Name,Last Name,Email,Roles,Date of Birth,Notes",
      "e1,Ann,Lee,ann@example.com,PRIMARY,1980-01-01,ok", // 1 good
      "e2,Bob,,bob@example.com,,,", // 2 missing last name
      "e3,Cy,Long,not-an-email,,,", // 3 bad email
      "e4,Di,Moss,,,31/12/1980,", // 4 unparseable date
      "e5,Ed,Nash,,WIZARD,,", // 5 unknown role
      `e6,Flo,Ott,,,,${"n".repeat(60)}`, // 6 over-long field (limit 50 bytes)
      "e7,Gus,Park", // 7 wrong column count
      "e1,Hal,Quinn,,,,", // 8 duplicate external id
      "e9,Ivy,Reed,ivy@example.com,BILLING,,", // 9 good
    ].join("\r\n");
    const { state, errors } = await runImport(tenant, csv, { limits: { maxFieldBytes: 50 } });
    expect(state).toMatchObject({
      state: "completed",
      processed: 9,
      inserted: 2,
      failed: 7,
      total_records: 9,
    });
    expect(errors.map((e) => [e.record_number, e.column_name, e.reason])).toEqual([
      [2, "Last Name", "required"],
      [3, "Email", "invalid"],
      [4, "Date of Birth", "invalid"],
      [5, "Roles", "unknown_reference"],
      [6, "Notes", "too_long"],
      [7, null, "invalid"],
      [8, "External ID", "duplicate"],
    ]);
    expect(errors.find((e) => e.record_number === 3)?.value).toBe("***-**-*mail");
    expect(errors.find((e) => e.record_number === 4)?.value).toBe("**/**/1980");
    expect(errors.find((e) => e.record_number === 5)?.value).toBe("WIZARD");
    expect((await contacts(tenant)).map((r) => r.external_id)).toEqual(["e1", "e9"]);
  });

  it("reports a record holding U+0000 as invalid on its column and loads the others", async () => {
    const tenant = await createTenant(db.url);
    const csv = "External ID,First Name,Last Name,Notes\nn1,Ann,Lee,fine\nn2,Bob,Nul,a\u0000b\nn3,Cy,Moss,\n";
    const { state, errors } = await runImport(tenant, csv);
    expect(state).toMatchObject({ state: "completed", processed: 3, inserted: 2, failed: 1 });
    expect(errors.map((e) => [e.record_number, e.column_name, e.reason])).toEqual([[2, "Notes", "invalid"]]);
    expect((await contacts(tenant)).map((r) => r.external_id)).toEqual(["n1", "n3"]);
  });

  it("fills a field two columns name by alias from the better alias, reporting the other column", async () => {
    const tenant = await createTenant(db.url);
    const { importId, state } = await runImport(
      tenant,
      "Title,First Name,Given Name,Last Name,Job Title\nMs.,Ann,Annie,Lee,Engineer\n",
    );
    expect(state).toMatchObject({ state: "completed", inserted: 1, failed: 0 });
    const [row] = await withClient(db.url, (c) =>
      c.query<{ first_name: string; job_title: string }>(
        "select first_name, job_title from contacts where tenant_id = $1",
        [tenant],
      ),
    ).then((r) => r.rows);
    expect(row).toEqual({ first_name: "Ann", job_title: "Engineer" });
    const ignored = await withClient(db.url, (c) =>
      c.query<{ ignored_columns: unknown }>(
        "select ignored_columns from imports where tenant_id = $1 and id = $2",
        [tenant, importId],
      ),
    );
    expect(ignored.rows[0]?.ignored_columns).toEqual([
      { header: "Title", field: "jobTitle", kept: "Job Title" },
      { header: "Given Name", field: "firstName", kept: "First Name" },
    ]);
  });

  it("reads BOM, CRLF, semicolon and tab files", async () => {
    const tenant = await createTenant(db.url);
    const bom = await runImport(
      tenant,
      Buffer.from(`\uFEFFExternal ID,First Name,Last Name\r\nb1,Ann,Lee\r\nb2,"Bo\r\nB",Ray\r\n`),
    );
    expect(bom.state).toMatchObject({ state: "completed", inserted: 2 });
    const semi = await runImport(tenant, 'External ID;First Name;Last Name;Company\ns1;Ann;Lee;"A, B; C"\n');
    expect(semi.state).toMatchObject({ state: "completed", inserted: 1 });
    const tab = await runImport(tenant, "External ID\tFirst Name\tLast Name\nt1\tAnn\tLee\n", {
      chunkBytes: 7,
    });
    expect(tab.state).toMatchObject({ state: "completed", inserted: 1 });
    const rows = await withClient(db.url, (c) =>
      c.query<{ external_id: string; first_name: string; company_name: string | null }>(
        "select external_id, first_name, company_name from contacts where tenant_id = $1 order by number",
        [tenant],
      ),
    );
    expect(rows.rows).toEqual([
      { external_id: "b1", first_name: "Ann", company_name: null },
      { external_id: "b2", first_name: "Bo\r\nB", company_name: null },
      { external_id: "s1", first_name: "Ann", company_name: "A, B; C" },
      { external_id: "t1", first_name: "Ann", company_name: null },
    ]);
  });

  it("fails the import with a clear message on file-level problems and limits", async () => {
    const tenant = await createTenant(db.url);
    const columns = await runImport(tenant, "First Name,Last Name,A,B,C\nAnn,Lee,1,2,3\n", {
      limits: { maxColumns: 4 },
    });
    expect(columns.state).toMatchObject({
      state: "failed",
      failure: "the file has 5 columns, more than the limit of 4",
    });
    const records = await runImport(tenant, "First Name,Last Name\nA,B\nC,D\nE,F\nG,H\n", {
      limits: { maxRecords: 3 },
    });
    expect(records.state).toMatchObject({ state: "failed", processed: 3, inserted: 3 });
    expect(records.state.failure).toMatch(/more than 3 records/);
    const repeated = await runImport(tenant, "Given,Name,Last Name\nA,B,C\n", {
      mapping: { Given: "firstName", Name: "firstName" },
    });
    expect(repeated.state.failure).toMatch(/"Given" and "Name" are both mapped to firstName/);
    const noNames = await runImport(tenant, "Email,Phone\na@example.com,1\n");
    expect(noNames.state.failure).toMatch(/neither a name column/);
    const binary = await runImport(tenant, Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x00]));
    expect(binary.state).toMatchObject({ state: "failed" });
    // A quoted header cell may span lines: a NUL past the first line is still in the header.
    const nulHeader = await runImport(tenant, '"First\nName\u0000",Last Name\nAnn,Lee\n');
    expect(nulHeader.state).toMatchObject({
      state: "failed",
      failure: "column 1 of the header holds U+0000 (NUL), which cannot be stored",
    });
  });

  it("stops at a chunk boundary when cancelled and keeps what loaded", async () => {
    const tenant = await createTenant(db.url);
    const csv = "First Name,Last Name\n" + Array.from({ length: 30 }, (_, i) => `A${i},B`).join("\n");
    const importId = await insertImport(db.url, tenant, csv);
    await withClient(db.url, (c) =>
      c.query("update imports set state = 'running', checkpoint = 0 where tenant_id = $1 and id = $2", [
        tenant,
        importId,
      ]),
    );
    // A lock on the import row holds the first chunk's compare-and-set while cancel is requested.
    await withClient(db.url, async (c) => {
      await c.query("begin");
      await c.query("select 1 from imports where tenant_id = $1 and id = $2 for update", [tenant, importId]);
      await sendImportJob(db.url, tenant, importId);
      await new Promise((r) => setTimeout(r, 1500));
      await c.query("update imports set cancel_requested = true where tenant_id = $1 and id = $2", [
        tenant,
        importId,
      ]);
      await c.query("commit");
    });
    const state = await waitForImport(db.url, tenant, importId);
    expect(state).toMatchObject({ state: "cancelled", processed: 0 });
    expect((await importState(db.url, tenant, importId)).inserted).toBe(0);
  });

  it("queues again an import whose job never arrived", async () => {
    const tenant = await createTenant(db.url);
    const importId = await insertImport(db.url, tenant, "First Name,Last Name\nA,B\n");
    await withClient(db.url, (c) =>
      c.query(
        "update imports set created_at = now() - interval '1 minute' where tenant_id = $1 and id = $2",
        [tenant, importId],
      ),
    );
    expect(await worker.rescan()).toBeGreaterThanOrEqual(1);
    expect(await waitForImport(db.url, tenant, importId)).toMatchObject({ state: "completed", inserted: 1 });
  });
});
