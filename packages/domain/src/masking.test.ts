import { describe, expect, it } from "vitest";

import {
  MASKING_RULES,
  activeMaskingRules,
  applyMasking,
  isMaskedValue,
  maskLast4,
  maskValue,
} from "./masking.js";
import type { MaskingViewer } from "./masking.js";
import { ALL_PERMISSIONS, Permission } from "./permissions.js";

describe("maskLast4", () => {
  it("masks a US SSN down to its last four digits, keeping the dashes", () => {
    expect(maskLast4("123-45-6789")).toBe("***-**-6789");
  });

  it.each([
    ["123456789", "*****6789"],
    ["12.345.678/0001-90", "**.***.***/**01-90"],
    ["AB 12 34 56 C", "** ** *4 56 C"],
    ["GB123456789", "*******6789"],
    ["12345678", "****5678"],
  ])("masks %j as %j", (value, masked) => {
    expect(maskLast4(value)).toBe(masked);
  });

  it.each([
    ["12345", "****5"],
    ["1234567", "****567"],
    ["1234", "****"],
    ["12-34", "**-**"],
    ["AB12", "****"],
    ["123", "***"],
    ["", ""],
  ])("keeps at least four characters of the short value %j hidden: %j", (value, masked) => {
    expect(maskLast4(value)).toBe(masked);
  });

  it("keeps the length and every separator in place", () => {
    const value = "98 76.54/32-10 x";
    const masked = maskLast4(value);
    expect(masked).toHaveLength(value.length);
    expect(masked.replace(/[^ ./-]/g, "")).toBe(value.replace(/[^ ./-]/g, ""));
    expect(masked).toBe("** **.**/*2-10 x");
  });

  it("is what maskValue does for the last4 strategy", () => {
    expect(maskValue("123-45-6789", "last4")).toBe("***-**-6789");
  });
});

describe("isMaskedValue", () => {
  it("is true for a masked value and false for a clear one", () => {
    expect(isMaskedValue("***-**-6789")).toBe(true);
    expect(isMaskedValue(maskLast4("987654321"))).toBe(true);
    expect(isMaskedValue("123-45-6789")).toBe(false);
    expect(isMaskedValue("")).toBe(false);
  });
});

describe("MASKING_RULES", () => {
  it("masks taxId with last4 unless the viewer may unmask it or the tenant says always unmasked", () => {
    expect(MASKING_RULES).toEqual([
      {
        field: "taxId",
        strategy: "last4",
        unmaskPermission: "contacts:unmask-tax-id",
        tenantSetting: "taxIdAlwaysUnmasked",
      },
    ]);
  });

  it("names only permissions of the catalogue", () => {
    for (const rule of MASKING_RULES)
      expect(Permission.parse(rule.unmaskPermission)).toBe(rule.unmaskPermission);
  });
});

describe("applyMasking", () => {
  const doc = { id: "c1", firstName: "Ada", taxId: "123-45-6789" };
  const viewer = (permissions: string[], taxIdAlwaysUnmasked = false): MaskingViewer => ({
    permissions: new Set(permissions),
    tenantSettings: { taxIdAlwaysUnmasked },
  });

  it("masks the tax id for a viewer without the unmask permission", () => {
    expect(applyMasking(doc, viewer(["contacts:read"]))).toEqual({
      id: "c1",
      firstName: "Ada",
      taxId: "***-**-6789",
    });
    expect(activeMaskingRules(viewer(["contacts:read"]))).toEqual(MASKING_RULES);
  });

  it("shows the tax id to a viewer holding contacts:unmask-tax-id", () => {
    expect(applyMasking(doc, viewer(["contacts:read", "contacts:unmask-tax-id"]))).toEqual(doc);
    expect(activeMaskingRules(viewer(["contacts:unmask-tax-id"]))).toEqual([]);
  });

  it("shows the tax id to every viewer when the tenant has taxIdAlwaysUnmasked", () => {
    expect(applyMasking(doc, viewer([], true))).toEqual(doc);
    expect(activeMaskingRules(viewer([], true))).toEqual([]);
  });

  it("does not count the admin permission as the unmask permission", () => {
    expect(applyMasking(doc, viewer(["admin"])).taxId).toBe("***-**-6789");
  });

  it("shows the tax id to the demo key holding every permission", () => {
    expect(applyMasking(doc, viewer([...ALL_PERMISSIONS])).taxId).toBe("123-45-6789");
  });

  it("leaves a null or missing tax id alone", () => {
    expect(applyMasking({ id: "c1", taxId: null }, viewer([]))).toEqual({ id: "c1", taxId: null });
    expect(applyMasking({ id: "c1" }, viewer([]))).toEqual({ id: "c1" });
  });

  it("returns a copy and never changes the document it was given", () => {
    const original = { ...doc };
    const masked = applyMasking(original, viewer([]));
    expect(masked).not.toBe(original);
    expect(original).toEqual(doc);
  });
});

describe("Permission", () => {
  it("lists the catalogue, ALL_PERMISSIONS holding each once", () => {
    expect(ALL_PERMISSIONS).toEqual(Permission.options);
    expect(new Set(ALL_PERMISSIONS).size).toBe(ALL_PERMISSIONS.length);
    expect(ALL_PERMISSIONS).toContain("contacts:unmask-tax-id");
  });

  it("rejects a permission outside the catalogue", () => {
    expect(Permission.safeParse("contacts:everything").success).toBe(false);
  });
});
