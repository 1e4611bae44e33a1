import { describe, expect, it } from "vitest";

import { ImportOptions, sniffDelimiter } from "./import-job.js";

describe("sniffDelimiter", () => {
  it("finds the separator of the header line, ignoring quoted text and the BOM", () => {
    expect(sniffDelimiter("\uFEFFFirst Name;Last Name;E-mail\nA;B;c")).toBe(";");
    expect(sniffDelimiter('"Name, full"\tEmail\tPhone\n')).toBe("\t");
    expect(sniffDelimiter("a|b|c\r\n1,2,3,4,5")).toBe("|");
    expect(sniffDelimiter("Email\n")).toBe(",");
  });
});

describe("ImportOptions", () => {
  it("defaults to an insert matched on external id, and names a bad mapping field", () => {
    expect(ImportOptions.parse({})).toEqual({
      mode: "insert",
      matchOn: "externalId",
      dryRun: false,
      accountId: null,
      fileName: "upload.csv",
      mapping: {},
    });
    const bad = ImportOptions.safeParse({ mapping: { Given: "givenName" } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["mapping", "Given"]);
  });
});
