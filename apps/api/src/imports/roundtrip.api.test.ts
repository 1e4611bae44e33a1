import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFailedRows, exportContacts, uploadImport } from "@contacts/client/csv";
import type { CsvRouteOptions } from "@contacts/client/csv";
import { startWorker } from "@contacts/worker/worker";
import { applyJsonPatch } from "@contacts/domain/patch";
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

async function completed(importId: string) {
  for (let i = 0; i < 300; i++) {
    const state = await h.alpha.imports.get.query({ id: importId });
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
    expect(document).toEqual(await h.alpha.contacts.get.query({ id: turing.id }));
  });
});
