import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFailedRows, exportContacts, uploadImport } from "@contacts/client/csv";
import type { CsvRouteOptions } from "@contacts/client/csv";
import { startWorker } from "@contacts/worker/worker";
import { withoutComputedFields } from "@contacts/domain/contact";
import { applyJsonPatch } from "@contacts/domain/patch";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";
import type { JsonValue } from "@contacts/domain/patch";
import type { RunningWorker } from "@contacts/worker/worker";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

/**
 * End to end, through the typed client and the real worker: upload a file as another system exports
 * it (BOM, CRLF, its own headers), watch it complete, read the failed rows, export the contacts,
 * edit the export and import it back.
 */
let h: Harness;
let worker: RunningWorker;
let api: CsvRouteOptions;

beforeAll(async () => {
  h = await startHarness({ jobQueue: true });
  worker = await startWorker({
    databaseUrl: h.db.url,
    appUrl: h.db.appUrl,
    keyring: h.keyring,
    log: pino({ level: "silent" }),
    chunkRecords: 2,
  });
  api = { url: h.url, apiKey: h.alphaKey };
});

afterAll(async () => {
  await worker.stop();
  await h.close();
});

async function completed(importId: string, client = h.alpha) {
  for (let i = 0; i < 300; i++) {
    const state = await client.imports.get.query({ id: importId });
    if (state.state !== "queued" && state.state !== "running") return state;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the import did not finish in 30 s");
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** The CSV's records (no quoted line breaks in these files), split into cells on commas. */
const rows = (csv: string): string[][] =>
  csv
    .replace(/^\uFEFF/, "")
    .trim()
    .split(/\r?\n/)
    .map((line) => line.split(","));

describe("import, export, edit, import again", () => {
  it("round-trips through the CSV layout, reporting the bad row", async () => {
    const file = [
      "\uFEFFExternal ID,First Name,last_name,E-mail,Zip,Phone,Job Title,Notes",
      "rt-1,Ada,Lovelace,ada@example.com,10001,+1 212 555 0100,Analyst,=1+1",
      "rt-2,Grace,Hopper,grace@@example.com,10002,(415) 555-0101,Admiral,",
      "rt-3,Alan,Turing,alan@example.com,10003,+44 20 7946 0958,Mathematician,",
      "",
    ].join("\r\n");
    const first = await uploadImport(api, new TextEncoder().encode(file), { fileName: "crm.csv" });
    const done = await completed(first.importId);
    expect([done.state, done.counts]).toEqual([
      "completed",
      { processed: 3, inserted: 2, updated: 0, unchanged: 0, failed: 1 },
    ]);
    const errors = await h.alpha.imports.errors.query({ id: first.importId });
    expect(errors.items).toEqual([
      expect.objectContaining({ recordNumber: 2, column: "E-mail", reason: "invalid" }),
    ]);
    expect(errors.items[0]?.value).not.toContain("grace@@example.com");
    const failed = rows(await text(await downloadFailedRows(api, first.importId)));
    expect(failed[0]?.at(-1)).toBe("Error");
    expect(failed.slice(1).map((r) => [r[0], r.at(-1)])).toEqual([["rt-2", "E-mail: invalid"]]);

    // Export: the importer's own layout; the formula in the notes is neutralized, phones stay E.164.
    const exported = await text(await exportContacts(api, { sort: { field: "lastName", direction: "asc" } }));
    const [header, ...records] = rows(exported);
    const col = (name: string): number => header?.indexOf(name) ?? -1;
    expect(records.map((r) => r[col("External ID")])).toEqual(["rt-1", "rt-3"]);
    expect(records[0]?.[col("Notes")]).toBe("'=1+1");
    expect(records[0]?.[col("Phone")]).toBe("+12125550100");

    // Edit one cell and import the export back (upsert on the external id): one updated, one unchanged.
    const edited = exported.replace("Mathematician", "Cryptanalyst");
    const again = await uploadImport(api, new TextEncoder().encode(edited), {
      mode: "upsert",
      fileName: "edited.csv",
    });
    const redone = await completed(again.importId);
    expect([redone.state, redone.counts]).toEqual([
      "completed",
      { processed: 2, inserted: 0, updated: 1, unchanged: 1, failed: 0 },
    ]);
    const alan = await h.alpha.contacts.search.query({ lastName: "turing" });
    expect(alan.items.map((c) => c.jobTitle)).toEqual(["Cryptanalyst"]);
    const ada = await h.alpha.contacts.search.query({ lastName: "lovelace" });
    expect(ada.items.map((c) => [c.notes, c.version])).toEqual([["=1+1", 1]]);

    // The change feed rebuilds each imported contact: the created event (built in SQL by the
    // worker) and the re-import's updated event, applied in order, give the document `get` returns.
    const turing = alan.items[0];
    if (!turing) throw new Error("no Turing");
    const history = await h.alpha.contacts.history.query({ id: turing.id });
    expect(history.items.map((e) => [e.type, e.version])).toEqual([
      ["created", 1],
      ["updated", 2],
    ]);
    let document: JsonValue = {};
    for (const event of history.items) {
      const applied = applyJsonPatch(document, event.patch);
      if (!applied.ok) throw new Error(`event ${String(event.seq)} does not apply`);
      document = applied.document;
    }
    // (All but the computed read-only fields, which events do not carry.)
    expect(document).toEqual(withoutComputedFields(await h.alpha.contacts.get.query({ id: turing.id })));
  });
});

const encode = (lines: string[]) => new TextEncoder().encode(lines.join("\n") + "\n");

describe("imports and the contact writer's rules", () => {
  it("leaves a locked contact unchanged: its record fails with reason `locked`", async () => {
    const admin = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    const locked = await admin.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Lock", lastName: "Smith", externalId: "lk-1", locked: true },
    });
    const open = await admin.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Open", lastName: "Smith", externalId: "lk-2" },
    });
    const upload = await uploadImport(
      api,
      encode(["External ID,First Name,Last Name", "lk-1,Changed,Smith", "lk-2,Changed,Smith"]),
      { mode: "upsert", fileName: "locked.csv" },
    );
    const done = await completed(upload.importId);
    expect([done.state, done.counts]).toEqual([
      "completed",
      { processed: 2, inserted: 0, updated: 1, unchanged: 0, failed: 1 },
    ]);
    const errors = await h.alpha.imports.errors.query({ id: upload.importId });
    expect(errors.items).toEqual([
      expect.objectContaining({ recordNumber: 1, column: "External ID", reason: "locked" }),
    ]);
    expect(await admin.contacts.get.query({ id: locked.id })).toEqual(locked);
    expect(await admin.contacts.get.query({ id: open.id })).toMatchObject({
      firstName: "Changed",
      version: 2,
    });
  });

  it("loads an Outlook export whose Title and Job Title both name the job title, showing the ignored column", async () => {
    const lines = [
      "Title,First Name,Middle Name,Last Name,Suffix,Company,Department,Job Title,Mobile Phone,Primary Phone,E-mail Address",
      "Dr.,Olive,,Outlook,,Contoso,R&D,Chemist,+1 415 555 0100,+1 415 555 0199,olive@example.com",
    ];
    const done = await completed(
      (await uploadImport(api, encode(lines), { fileName: "outlook.csv" })).importId,
    );
    expect([done.state, done.counts.inserted, done.failure]).toEqual(["completed", 1, null]);
    expect(done.ignoredColumns).toEqual([
      { header: "Title", field: "jobTitle", kept: "Job Title" },
      { header: "Mobile Phone", field: "phone", kept: "Primary Phone" },
    ]);
    const [olive] = (await h.alpha.contacts.search.query({ lastName: "Outlook" })).items;
    expect([olive?.jobTitle, olive?.phones?.map((p) => p.e164)]).toEqual(["Chemist", ["+14155550199"]]);
  });

  it("reads a masked tax ID in an edited export as unchanged, and refuses one that masks nothing", async () => {
    const lines = [
      "External ID,First Name,Last Name,Tax ID",
      "tax-1,Ann,Masked,123-45-6789",
      "tax-2,Bob,Masked,987-65-4321",
    ];
    const first = await completed((await uploadImport(api, encode(lines), { fileName: "tax.csv" })).importId);
    expect(first.counts).toMatchObject({ inserted: 2, failed: 0 });
    // Exported without the unmask permission: the tax IDs leave masked.
    const exported = await text(await exportContacts(api, { lastName: "Masked" }));
    expect(exported).toContain("***-**-6789");
    expect(exported).not.toContain("123-45-6789");
    const edited = exported.replace("Ann", "Anne").replace("***-**-4321", "***-**-0000");
    const again = await completed(
      (
        await uploadImport(api, new TextEncoder().encode(edited), {
          mode: "upsert",
          fileName: "tax-edited.csv",
        })
      ).importId,
    );
    // Ann's masked tax ID is "unchanged"; Bob's masks no stored one: his record fails on the column.
    expect([again.state, again.counts]).toEqual([
      "completed",
      { processed: 2, inserted: 0, updated: 1, unchanged: 0, failed: 1 },
    ]);
    const errors = await h.alpha.imports.errors.query({ id: again.id });
    expect(errors.items.map((e) => [e.column, e.reason])).toEqual([["Tax ID", "invalid"]]);
    const unmask = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    const found = await unmask.contacts.search.query({
      lastName: "Masked",
      sort: { field: "firstName", direction: "asc" },
    });
    expect(found.items.map((c) => [c.firstName, c.taxId, c.version])).toEqual([
      ["Anne", "123-45-6789", 2],
      ["Bob", "987-65-4321", 1],
    ]);
    // A masked value cannot create a contact either.
    const insert = await completed(
      (
        await uploadImport(
          api,
          encode(["External ID,First Name,Last Name,Tax ID", "tax-3,Cy,Masked,***-**-6789"]),
          {
            mode: "upsert",
            fileName: "tax-new.csv",
          },
        )
      ).importId,
    );
    expect(insert.counts).toMatchObject({ inserted: 0, failed: 1 });
  });

  it("keeps the creating import's provenance and records the last import separately", async () => {
    const first = await uploadImport(
      api,
      encode(["External ID,First Name,Last Name", "pv-1,Prov,Enance", "pv-2,Kept,Enance"]),
      { fileName: "first.csv" },
    );
    await completed(first.importId);
    const [created] = (await h.alpha.contacts.search.query({ lastName: "enance", firstName: "prov" })).items;
    expect(created?.provenance).toMatchObject({
      importId: first.importId,
      recordNumber: 1,
      sourceFile: "first.csv",
    });
    expect(created?.lastBulkImport).toEqual(created?.provenance);

    const second = await uploadImport(
      api,
      encode(["External ID,First Name,Last Name", "pv-0,New,Enance", "pv-1,Prov,Enanced"]),
      { mode: "upsert", fileName: "second.csv" },
    );
    await completed(second.importId);
    const updated = await h.alpha.contacts.get.query({ id: created?.id ?? "" });
    expect(updated.lastName).toBe("Enanced");
    expect(updated.provenance).toEqual(created?.provenance);
    expect(updated.lastBulkImport).toMatchObject({
      importId: second.importId,
      recordNumber: 2,
      sourceFile: "second.csv",
    });
    // The updated event carries the new last import, and replays to what get returns.
    const history = await h.alpha.contacts.history.query({ id: updated.id });
    const patch = history.items.at(-1)?.patch ?? [];
    expect(patch).toContainEqual({ op: "replace", path: "/lastBulkImport", value: updated.lastBulkImport });
    expect(patch.some((op) => op.path === "/provenance")).toBe(false);
    let document: JsonValue = {};
    for (const event of history.items) {
      const applied = applyJsonPatch(document, event.patch);
      if (!applied.ok) throw new Error(`event ${String(event.seq)} does not apply`);
      document = applied.document;
    }
    expect(document).toEqual(withoutComputedFields(updated));
  });

  it("does not give contacts a role deleted after the file was checked (roles.delete racing a chunk)", async () => {
    const admin = h.client(await h.keyWith("alpha", ALL_PERMISSIONS));
    await admin.roles.create.mutate({ code: "RACE_ROLE" });
    await admin.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Held", lastName: "Race", externalId: "race-0" },
    });
    // Chunk 1 (2 records) updates race-0 and has no role; chunk 2 gives its contacts the role.
    const lines = [
      "External ID,First Name,Last Name,Roles",
      "race-0,Held,Raced,",
      "race-1,One,Race,",
      "race-2,Two,Race,RACE_ROLE",
      "race-3,Three,Race,RACE_ROLE",
    ];
    const blocker = new pg.Client({ connectionString: h.db.url });
    await blocker.connect();
    let importId: string;
    try {
      // Holding race-0's row keeps chunk 1 from committing while the parse thread checks chunk 2.
      await blocker.query("begin");
      await blocker.query(
        "select 1 from contacts where tenant_id = 'alpha' and external_id = 'race-0' for update",
      );
      importId = (await uploadImport(api, encode(lines), { mode: "upsert", fileName: "race.csv" })).importId;
      for (let i = 0; ; i++) {
        const waiting = await blocker.query(
          "select 1 from pg_locks where not granted and locktype = 'transactionid'",
        );
        if (waiting.rowCount) break;
        if (i > 500) throw new Error("the import never waited for the row");
        await new Promise((r) => setTimeout(r, 20));
      }
      // The parse thread runs ahead of the writer: chunk 2 is checked (the role exists) meanwhile.
      await new Promise((r) => setTimeout(r, 500));
      // No contact holds the role yet, so the delete goes through.
      expect(await admin.roles.delete.mutate({ code: "RACE_ROLE" })).toEqual({
        code: "RACE_ROLE",
        deleted: true,
      });
      await blocker.query("commit");
    } finally {
      await blocker.end();
    }
    const done = await completed(importId);
    expect([done.state, done.counts]).toEqual([
      "completed",
      { processed: 4, inserted: 1, updated: 1, unchanged: 0, failed: 2 },
    ]);
    const errors = await h.alpha.imports.errors.query({ id: importId });
    expect(errors.items.map((e) => [e.recordNumber, e.column, e.reason])).toEqual([
      [3, "Roles", "unknown_reference"],
      [4, "Roles", "unknown_reference"],
    ]);
    const holders = await h
      .em()
      .getConnection()
      .execute<{ n: string }[]>("select count(*) as n from contacts where 'RACE_ROLE' = any(roles)");
    expect(holders[0]?.n).toBe("0");
  });
});

describe("the tenant's creation criteria on imports (settings.validation.requirePrimaryAddress)", () => {
  it("fails a new record without a complete primary address, naming each missing column; updates are not held to it", async () => {
    const tenant = await h.tenantClient("imp-addr");
    const key = await h.keyWith("imp-addr", ALL_PERMISSIONS);
    const csv = { url: h.url, apiKey: key };
    const seed = await tenant.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Old", lastName: "Stored", externalId: "ad-0" },
    });
    await tenant.admin.tenants.update.mutate({ settings: { validation: { requirePrimaryAddress: true } } });
    const lines = [
      "External ID,First Name,Last Name,Address,City,State,Zip",
      "ad-1,Full,Address,1 Main St,Austin,TX,78701",
      "ad-2,No,Address,,,,",
      "ad-3,Half,Address,2 Main St,Austin,,",
      // Matches a stored contact: an update, which the setting does not concern.
      "ad-0,Old,Updated,,,,",
    ];
    const done = await completed(
      (await uploadImport(csv, encode(lines), { mode: "upsert", fileName: "addr.csv" })).importId,
      tenant,
    );
    expect([done.state, done.counts]).toEqual([
      "completed",
      { processed: 4, inserted: 1, updated: 1, unchanged: 0, failed: 2 },
    ]);
    const errors = await tenant.imports.errors.query({ id: done.id });
    expect(errors.items.map((e) => [e.recordNumber, e.column, e.reason])).toEqual([
      [2, "Address", "required"],
      [2, "City", "required"],
      [2, "State", "required"],
      [2, "Zip", "required"],
      [3, "State", "required"],
      [3, "Zip", "required"],
    ]);
    const failed = rows(await text(await downloadFailedRows(csv, done.id)));
    expect(failed.slice(1).map((r) => [r[0], r.at(-1)])).toEqual([
      ["ad-2", "Address: required; City: required; State: required; Zip: required"],
      ["ad-3", "State: required; Zip: required"],
    ]);
    const stored = await tenant.contacts.search.query({ sort: { field: "createdAt", direction: "asc" } });
    expect(stored.items.map((c) => [c.externalId, c.lastName])).toEqual([
      ["ad-0", "Updated"],
      ["ad-1", "Address"],
    ]);
    expect(seed.version).toBe(1);
  });
});

describe("the rolodex fields in the CSV layout", () => {
  const rolodex = {
    salutation: "Dear Ada",
    imageUrl: "https://img.example.com/ada.png",
    linkWorkAddressToAccount: true,
    linkWorkPhoneToAccount: false,
    communicationPreferences: ["newsletter", "Product updates"],
    communicationPreferencesLastConfirmed: "2024-03-01T09:00:00.000Z",
    dateProfileLastUpdated: "2024-03-02T09:30:00.000Z",
  };

  it("exports each stored field, and an unedited export imported back changes nothing; edited cells update", async () => {
    const created = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Ada", lastName: "Rolodex", externalId: "rx-1", ...rolodex },
    });
    const exported = await text(await exportContacts(api, { lastName: "Rolodex" }));
    const [header, record] = rows(exported);
    const cell = (name: string) => record?.[header?.indexOf(name) ?? -1];
    expect([
      cell("Salutation"),
      cell("Prefix"),
      cell("Image URL"),
      cell("Link Work Address To Account"),
      cell("Link Work Phone To Account"),
      cell("Communication Preferences"),
      cell("Communication Preferences Last Confirmed"),
      cell("Date Profile Last Updated"),
    ]).toEqual([
      "Dear Ada",
      "",
      "https://img.example.com/ada.png",
      "true",
      "false",
      "newsletter;Product updates",
      "2024-03-01T09:00:00.000Z",
      "2024-03-02T09:30:00.000Z",
    ]);
    const same = await completed(
      (await uploadImport(api, new TextEncoder().encode(exported), { mode: "upsert", fileName: "rx.csv" }))
        .importId,
    );
    expect(same.counts).toEqual({ processed: 1, inserted: 0, updated: 0, unchanged: 1, failed: 0 });

    const edited = exported
      .replace("Dear Ada", "Dear Countess")
      .replace("https://img.example.com/ada.png", "https://img.example.com/new.png")
      .replace(",true,false,", ",false,true,")
      .replace("newsletter;Product updates", "events")
      .replace("2024-03-02T09:30:00.000Z", "2024-05-01T12:00:00+02:00");
    const again = await completed(
      (await uploadImport(api, new TextEncoder().encode(edited), { mode: "upsert", fileName: "rx-2.csv" }))
        .importId,
    );
    expect(again.counts).toMatchObject({ updated: 1, failed: 0 });
    const got = await h.alpha.contacts.get.query({ id: created.id });
    expect(got).toMatchObject({
      salutation: "Dear Countess",
      prefix: null,
      imageUrl: "https://img.example.com/new.png",
      linkWorkAddressToAccount: false,
      linkWorkPhoneToAccount: true,
      communicationPreferences: ["events"],
      communicationPreferencesLastConfirmed: "2024-03-01T09:00:00.000Z",
      dateProfileLastUpdated: "2024-05-01T10:00:00.000Z",
      version: 2,
    });
    // The import's updated event replays to the stored document.
    let document: JsonValue = {};
    for (const event of (await h.alpha.contacts.history.query({ id: created.id })).items) {
      const applied = applyJsonPatch(document, event.patch);
      if (!applied.ok) throw new Error(`event ${String(event.seq)} does not apply`);
      document = applied.document;
    }
    expect(document).toEqual(withoutComputedFields(got));
  });

  it("clears each stored field whose cell is emptied in an edited export", async () => {
    const created = await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Ada", lastName: "Blanked", externalId: "rxb-1", ...rolodex },
    });
    const exported = await text(await exportContacts(api, { lastName: "Blanked" }));
    const [header, record] = rows(exported);
    const blanked = [
      "Salutation",
      "Image URL",
      "Link Work Address To Account",
      "Link Work Phone To Account",
      "Communication Preferences",
      "Communication Preferences Last Confirmed",
      "Date Profile Last Updated",
    ].map((name) => header?.indexOf(name) ?? -1);
    expect(blanked).not.toContain(-1);
    const edited = [header ?? [], (record ?? []).map((v, i) => (blanked.includes(i) ? "" : v))]
      .map((cells) => cells.map((v) => `"${v.replace(/"/g, '""')}"`).join(","))
      .join("\n");
    const done = await completed(
      (await uploadImport(api, new TextEncoder().encode(edited), { mode: "upsert", fileName: "rxb.csv" }))
        .importId,
    );
    expect(done.counts).toMatchObject({ updated: 1, failed: 0 });
    const got = await h.alpha.contacts.get.query({ id: created.id });
    expect(got).toMatchObject({
      salutation: null,
      imageUrl: null,
      linkWorkAddressToAccount: false,
      linkWorkPhoneToAccount: false,
      communicationPreferences: [],
      communicationPreferencesLastConfirmed: null,
      dateProfileLastUpdated: null,
      version: 2,
    });
  });

  it("reads the rolodex's own headers (Salutation is the salutation, not the prefix) and reports bad values by column", async () => {
    const lines = [
      "External ID,First Name,Last Name,Salutation,image_url,link_work_phone_number_to_organization,communication_preferences,date_profile_last_updated",
      "rxh-1,Grace,Rolodexed,Dear Admiral,https://img.example.com/g.png,yes,events;surveys,2024-01-01T00:00:00Z",
      "rxh-2,Alan,Rolodexed,,ftp://img.example.com/a.png,maybe,,tomorrow",
    ];
    const done = await completed(
      (await uploadImport(api, encode(lines), { fileName: "rolodex.csv" })).importId,
    );
    expect(done.counts).toMatchObject({ inserted: 1, failed: 1 });
    const [grace] = (await h.alpha.contacts.search.query({ lastName: "Rolodexed" })).items;
    expect(grace).toMatchObject({
      prefix: null,
      salutation: "Dear Admiral",
      imageUrl: "https://img.example.com/g.png",
      linkWorkPhoneToAccount: true,
      linkWorkAddressToAccount: false,
      communicationPreferences: ["events", "surveys"],
      dateProfileLastUpdated: "2024-01-01T00:00:00.000Z",
      fullName: "Grace Rolodexed",
    });
    const errors = await h.alpha.imports.errors.query({ id: done.id });
    expect(errors.items.map((e) => [e.recordNumber, e.column, e.reason])).toEqual([
      [2, "link_work_phone_number_to_organization", "invalid"],
      [2, "date_profile_last_updated", "invalid"],
      [2, "image_url", "invalid"],
    ]);
  });
});

describe("imports and linkWorkPhoneToAccount", () => {
  it("gives new and updated linked contacts the account's telephone as their work phone", async () => {
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key: "link-phone", name: "Linked Phones" },
    });
    // Linked, while the account has no telephone yet: the contact keeps its own work phone.
    const stored = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "Old",
        lastName: "Linked",
        externalId: "lp-0",
        accountId: account.id,
        linkWorkPhoneToAccount: true,
        phones: [{ number: "+1 212 555 0199", label: "work", primary: true }],
      },
    });
    // The telephone arrives behind the API's back (as a restore would), so only the import applies it.
    await h
      .em()
      .getConnection()
      .execute(
        `insert into account_channels (tenant_id, id, account_id, label, telephone, integration, created_at)
         values ('alpha', gen_random_uuid(), ?, 'general', '+1 512 555 0100', false, now())`,
        [account.id],
      );
    const lines = [
      "External ID,First Name,Last Name,Account ID,Phone,link_work_phone_number_to_organization",
      `lp-1,New,Linked,${account.id},+1 415 555 0100,true`,
      `lp-2,Free,Linked,${account.id},+1 415 555 0101,false`,
    ];
    const done = await completed(
      (await uploadImport(api, encode(lines), { mode: "upsert", fileName: "linked.csv" })).importId,
    );
    expect(done.counts).toMatchObject({ inserted: 2, failed: 0 });
    const byExt = async (ext: string) =>
      (await h.alpha.contacts.search.query({ lastName: "Linked" })).items.find((c) => c.externalId === ext);
    expect((await byExt("lp-1"))?.phones?.map((p) => [p.label, p.number])).toEqual([
      ["work", "+1 512 555 0100"],
    ]);
    expect((await byExt("lp-2"))?.phones?.map((p) => p.number)).toEqual(["+1 415 555 0101"]);

    // An update of the stored linked contact without a phone column brings the phone along.
    const update = await completed(
      (
        await uploadImport(api, encode(["External ID,First Name,Last Name", "lp-0,Older,Linked"]), {
          mode: "upsert",
          fileName: "linked-2.csv",
        })
      ).importId,
    );
    expect(update.counts).toMatchObject({ updated: 1, failed: 0 });
    const after = await h.alpha.contacts.get.query({ id: stored.id });
    expect([after.firstName, after.phones?.map((p) => [p.label, p.number, p.primary])]).toEqual([
      "Older",
      [["work", "+1 512 555 0100", true]],
    ]);
    let document: JsonValue = {};
    for (const event of (await h.alpha.contacts.history.query({ id: stored.id })).items) {
      const applied = applyJsonPatch(document, event.patch);
      if (!applied.ok) throw new Error(`event ${String(event.seq)} does not apply`);
      document = applied.document;
    }
    expect(document).toEqual(withoutComputedFields(after));
  });
});

describe("imports and linkWorkAddressToAccount", () => {
  it("gives new and updated linked contacts the account's address as their work address", async () => {
    const account = await h.alpha.accounts.create.mutate({
      account: { type: "CLOUD", key: "link-address", name: "Linked Addresses" },
    });
    // Linked, while the account has no address yet: the contact keeps its own work address.
    const stored = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "Old",
        lastName: "Placed",
        externalId: "la-0",
        accountId: account.id,
        linkWorkAddressToAccount: true,
        addresses: [
          { line1: "9 Home Rd", city: "Boston", label: "home" },
          { line1: "5 Old Office", city: "Dallas", label: "work", primary: true },
        ],
      },
    });
    // The address arrives behind the API's back (as a restore would), so only the import applies it.
    const office = {
      line1: "1 Main St",
      line2: null,
      city: "Austin",
      state: "TX",
      postalCode: "78701",
      country: "US",
    };
    await h
      .em()
      .getConnection()
      .execute("update accounts set address = ?::jsonb where tenant_id = 'alpha' and id = ?", [
        JSON.stringify(office),
        account.id,
      ]);
    const lines = [
      "External ID,First Name,Last Name,Account ID,City,link_work_address_to_organization",
      `la-1,New,Placed,${account.id},Denver,true`,
      `la-2,Free,Placed,${account.id},Denver,false`,
      `la-3,Bare,Placed,${account.id},,true`,
    ];
    const done = await completed(
      (await uploadImport(api, encode(lines), { mode: "upsert", fileName: "placed.csv" })).importId,
    );
    expect(done.counts).toMatchObject({ inserted: 3, failed: 0 });
    const byExt = async (ext: string) =>
      (await h.alpha.contacts.search.query({ lastName: "Placed" })).items.find((c) => c.externalId === ext);
    const places = (
      c:
        | { addresses?: { line1: string | null; city: string | null; label: string; primary: boolean }[] }
        | undefined,
    ) => (c?.addresses ?? []).map((a) => [a.label, a.line1, a.city, a.primary]);
    expect(places(await byExt("la-1"))).toEqual([["work", "1 Main St", "Austin", true]]);
    expect((await byExt("la-1"))?.addresses?.[0]).toMatchObject(office);
    expect(places(await byExt("la-2"))).toEqual([["work", null, "Denver", true]]);
    expect(places(await byExt("la-3"))).toEqual([["work", "1 Main St", "Austin", false]]);

    // An update of the stored linked contact without an address column brings the address along.
    const update = await completed(
      (
        await uploadImport(api, encode(["External ID,First Name,Last Name", "la-0,Older,Placed"]), {
          mode: "upsert",
          fileName: "placed-2.csv",
        })
      ).importId,
    );
    expect(update.counts).toMatchObject({ updated: 1, failed: 0 });
    const after = await h.alpha.contacts.get.query({ id: stored.id });
    expect([after.firstName, places(after)]).toEqual([
      "Older",
      [
        ["home", "9 Home Rd", "Boston", false],
        ["work", "1 Main St", "Austin", true],
      ],
    ]);
    // The events rebuild the stored document (the address change is in the update's event).
    let document: JsonValue = {};
    for (const event of (await h.alpha.contacts.history.query({ id: stored.id })).items) {
      const applied = applyJsonPatch(document, event.patch);
      if (!applied.ok) throw new Error(`event ${String(event.seq)} does not apply`);
      document = applied.document;
    }
    expect(document).toEqual(withoutComputedFields(after));
  });
});
