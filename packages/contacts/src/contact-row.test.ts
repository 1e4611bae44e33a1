import { describe, expect, it } from "vitest";

import { contactFromRow, PAGE_COLUMN_NAMES } from "./contact-row.js";

describe("PAGE_COLUMNS", () => {
  it("selects every column contactFromRow reads, except the match keys pages never use", () => {
    const read = new Set<string>();
    const row = new Proxy({} as Parameters<typeof contactFromRow>[0], {
      get(_target, key) {
        read.add(String(key));
        return null;
      },
    });
    contactFromRow(row);
    expect(read.size).toBeGreaterThan(40);
    expect([...read].filter((column) => !PAGE_COLUMN_NAMES.includes(column))).toEqual(["match_keys"]);
  });
});
