import { describe, expect, it } from "vitest";

import { RoleCode } from "./contact.js";
import { DEFAULT_ROLES, RoleInput } from "./role.js";

describe("RoleInput", () => {
  it("parses a code with a trimmed description", () => {
    expect(RoleInput.parse({ code: "BILLING_2", description: " Pays the bills " })).toEqual({
      code: "BILLING_2",
      description: "Pays the bills",
    });
  });

  it("accepts a role without a description", () => {
    expect(RoleInput.parse({ code: "PRIMARY" })).toEqual({ code: "PRIMARY" });
    expect(RoleInput.parse({ code: "PRIMARY", description: null })).toEqual({
      code: "PRIMARY",
      description: null,
    });
  });

  it.each(["primary", "1ST", "A-B", "", "A".repeat(51)])("rejects the code %j", (code) => {
    expect(RoleInput.safeParse({ code }).success).toBe(false);
  });

  it("accepts a code of 50 characters", () => {
    expect(RoleCode.parse("A".repeat(50))).toBe("A".repeat(50));
  });

  it("rejects a description over 255 characters and unknown fields", () => {
    expect(RoleInput.safeParse({ code: "PRIMARY", description: "d".repeat(256) }).success).toBe(false);
    expect(RoleInput.safeParse({ code: "PRIMARY", color: "red" }).success).toBe(false);
  });
});

describe("DEFAULT_ROLES", () => {
  it("is PRIMARY, BILLING, TECHNICAL, ADMINISTRATIVE, each a valid role code", () => {
    expect(DEFAULT_ROLES).toEqual(["PRIMARY", "BILLING", "TECHNICAL", "ADMINISTRATIVE"]);
    for (const code of DEFAULT_ROLES) expect(RoleCode.parse(code)).toBe(code);
  });
});
