import { randomUUID } from "node:crypto";

import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportContacts } from "@contacts/client/csv";
import type { ContactExportFilters } from "@contacts/client/csv";
import { CSV_HEADERS } from "@contacts/domain/csv-layout";
import { ALL_PERMISSIONS } from "@contacts/domain/permissions";

import { rejection, startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";

let h: Harness;
let unmaskKey: string;

beforeAll(async () => {
  h = await startHarness();
  unmaskKey = await h.keyWith("alpha", ALL_PERMISSIONS);
});

afterAll(async () => {
  await h.close();
});

async function exported(
  filters: Partial<ContactExportFilters> = {},
  apiKey = h.alphaKey,
): Promise<string[][]> {
  const bytes = Buffer.from(
    await new Response(await exportContacts({ url: h.url, apiKey }, filters)).arrayBuffer(),
  );
  const text = bytes.toString("utf8");
  expect(text.startsWith("\uFEFF")).toBe(true);
  const rows: string[][] = parse(text, { bom: true });
  return rows;
}
const column = (rows: string[][], header: string) => {
  const i = CSV_HEADERS.indexOf(header);
  return rows.slice(1).map((r) => r[i]);
};

describe("GET /v1/exports/contacts.csv", () => {
  it("writes the import layout, masks the tax ID unless the caller may unmask it (recording the reveal)", async () => {
    const lastName = `Masked${randomUUID().slice(0, 8)}`;
    const c = await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "Tax",
        lastName,
        taxId: "123-45-6789",
        phones: [{ number: "+1 415 555 0100" }],
        emails: [{ address: "tax@example.com" }],
      },
    });
    const rows = await exported({ lastName });
    expect(rows[0]).toEqual([...CSV_HEADERS]);
    expect(rows).toHaveLength(2);
    expect(column(rows, "Tax ID")).toEqual(["***-**-6789"]);
    expect(column(rows, "Phone")).toEqual(["+14155550100"]);
    expect(column(rows, "Email")).toEqual(["tax@example.com"]);

    const unmasked = await exported({ lastName }, unmaskKey);
    expect(column(unmasked, "Tax ID")).toEqual(["123-45-6789"]);
    const reveals = await h
      .em()
      .getConnection()
      .execute<{ via: string }[]>("select via from tax_id_reveals where contact_id = ?", [c.id]);
    expect(reveals).toEqual([{ via: "exports.contacts" }]);
  });

  it("neutralizes formula cells and keeps E.164 phones usable", async () => {
    const lastName = `=HYPERLINK("x")${randomUUID().slice(0, 4)}`;
    await h.alpha.contacts.create.mutate({
      contact: {
        subtype: "person",
        firstName: "+SUM(1)",
        lastName,
        nickname: "@z",
        jobTitle: "-y",
        notes: "\tcmd\r=1",
        phones: [{ number: "+44 20 7946 0958" }],
      },
    });
    const rows = await exported({ q: "hyperlink" });
    const row = rows.find((r) => r.includes("'+SUM(1)"));
    expect(row).toBeDefined();
    const cell = (header: string) => row?.[CSV_HEADERS.indexOf(header)];
    expect(cell("First Name")).toBe("'+SUM(1)");
    expect(cell("Last Name")).toBe(`'${lastName}`);
    expect(cell("Nickname")).toBe("'@z");
    expect(cell("Job Title")).toBe("'-y");
    expect(cell("Phone")).toBe("+442079460958");
    const notes = cell("Notes") ?? "";
    expect(notes === "" || !/^[=+\-@\t\r]/.test(notes)).toBe(true);
  });

  it("applies the search filters, pages through everything, and never shows another tenant's contacts", async () => {
    const city = `Export${randomUUID().slice(0, 6)}`;
    const address = { line1: "1 Main St", city, country: "US", label: "work" as const };
    for (let i = 0; i < 3; i++) {
      await h.alpha.contacts.create.mutate({
        contact: { subtype: "person", firstName: `In${i}`, lastName: "City", addresses: [{ ...address }] },
      });
    }
    await h.alpha.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Elsewhere", lastName: "City" },
    });
    await h.bravo.contacts.create.mutate({
      contact: { subtype: "person", firstName: "Bravo", lastName: "City", addresses: [{ ...address }] },
    });
    const rows = await exported({ city, sort: { field: "firstName", direction: "desc" } });
    expect(column(rows, "First Name")).toEqual(["In2", "In1", "In0"]);
    const all = await exported();
    expect(column(all, "First Name")).not.toContain("Bravo");
    expect(all.length - 1).toBe((await h.alpha.contacts.search.query({ limit: 1000 })).items.length);
  });

  it("answers bad filters, a missing permission and no key with JSON errors", async () => {
    const bad = await rejection(
      exportContacts({ url: h.url, apiKey: h.alphaKey }, { status: ["gone"] as never }),
    );
    expect(bad.status).toBe(400);
    expect(bad.errors).toEqual([{ reason: "invalid", field: "search.status.0" }]);
    const unknown = await rejection(
      exportContacts({ url: h.url, apiKey: h.alphaKey }, { limit: 5 } as never),
    );
    expect(unknown.errors).toEqual([{ reason: "unknown_field", field: "search.limit" }]);
    const taxFilter = await rejection(
      exportContacts({ url: h.url, apiKey: h.alphaKey }, { taxId: "123-45-6789" }),
    );
    expect(taxFilter.status).toBe(403);
    expect(taxFilter.errors).toEqual([{ reason: "forbidden", field: "search.taxId" }]);
    const writer = await h.keyWith("alpha", ["contacts:write"]);
    expect((await rejection(exportContacts({ url: h.url, apiKey: writer }))).status).toBe(403);
    expect((await rejection(exportContacts({ url: h.url, apiKey: "nope" }))).status).toBe(401);
  });
});
