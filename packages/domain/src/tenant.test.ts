import { describe, expect, it } from "vitest";

import { TenantId } from "./common.js";
import { fieldErrorsFromZod } from "./errors.js";
import { primaryAddressErrors } from "./contact.js";
import type { Address } from "./contact.js";
import { TenantInput, TenantSettings, patchTenantSettings, requiresPrimaryAddress } from "./tenant.js";

function errorsOf(input: unknown) {
  const result = TenantInput.safeParse(input);
  if (result.success) throw new Error("expected the tenant to be rejected");
  return fieldErrorsFromZod(result.error.issues, undefined, { input }).map(({ reason, field }) => ({
    reason,
    field,
  }));
}

describe("TenantInput", () => {
  it("defaults the settings: tax ids masked, no contact limit, 6000 requests a minute", () => {
    expect(TenantInput.parse({ id: "acme", name: " Acme " })).toEqual({
      id: "acme",
      name: "Acme",
      settings: { taxIdAlwaysUnmasked: false, limits: { contacts: null, requestsPerMinute: 6_000 } },
    });
  });

  it("fills the settings left out of a partial settings object", () => {
    expect(
      TenantInput.parse({ id: "acme", name: "Acme", settings: { taxIdAlwaysUnmasked: true } }).settings,
    ).toEqual({
      taxIdAlwaysUnmasked: true,
      limits: { contacts: null, requestsPerMinute: 6_000 },
    });
    expect(TenantSettings.parse({ limits: { contacts: 500 } })).toEqual({
      taxIdAlwaysUnmasked: false,
      limits: { contacts: 500, requestsPerMinute: 6_000 },
    });
  });

  it("validates the limits", () => {
    expect(
      errorsOf({ id: "acme", name: "Acme", settings: { limits: { contacts: -1, requestsPerMinute: 0 } } }),
    ).toEqual([
      { reason: "too_small", field: "settings.limits.contacts" },
      { reason: "too_small", field: "settings.limits.requestsPerMinute" },
    ]);
    expect(errorsOf({ id: "acme", name: "Acme", settings: { limits: { requestsPerMinute: 1.5 } } })).toEqual([
      { reason: "invalid", field: "settings.limits.requestsPerMinute" },
    ]);
  });

  it("requires a name and rejects unknown settings", () => {
    expect(errorsOf({ id: "acme", name: " ", settings: { darkMode: true } })).toEqual([
      { reason: "required", field: "name" },
      { reason: "unknown_field", field: "settings.darkMode" },
    ]);
  });
});

describe("TenantId", () => {
  it.each(["acme", "a1", "acme-eu-2"])("accepts %j", (id) => {
    expect(TenantId.parse(id)).toBe(id);
  });

  it.each(["a", "Acme", "-acme", "acme-", "acme_eu", "a".repeat(64)])("rejects %j", (id) => {
    expect(TenantId.safeParse(id).success).toBe(false);
  });
});

describe("settings.validation", () => {
  const base = TenantSettings.parse({});

  it("is absent until set, and a patch sets or clears requirePrimaryAddress keeping the rest", () => {
    expect(base.validation).toBeUndefined();
    expect(requiresPrimaryAddress(base)).toBe(false);
    const on = patchTenantSettings(base, { validation: { requirePrimaryAddress: true } });
    expect(on).toEqual({ ...base, validation: { requirePrimaryAddress: true } });
    expect(requiresPrimaryAddress(on)).toBe(true);
    expect(patchTenantSettings(on, { taxIdAlwaysUnmasked: true }).validation).toEqual({
      requirePrimaryAddress: true,
    });
    expect(patchTenantSettings(on, { validation: { requirePrimaryAddress: false } }).validation).toEqual({
      requirePrimaryAddress: false,
    });
    expect(patchTenantSettings(base, { taxIdAlwaysUnmasked: true })).not.toHaveProperty("validation");
  });
});

describe("primaryAddressErrors", () => {
  const address = (fields: Partial<Address>): Address => ({
    line1: null,
    line2: null,
    city: null,
    state: null,
    postalCode: null,
    country: null,
    label: "home",
    primary: false,
    seasonalStart: null,
    seasonalEnd: null,
    ...fields,
  });

  it("names each missing field of the primary address", () => {
    expect(primaryAddressErrors({ addresses: [] }, "contact").map((e) => e.field)).toEqual([
      "contact.addresses.0.line1",
      "contact.addresses.0.city",
      "contact.addresses.0.state",
      "contact.addresses.0.postalCode",
    ]);
    const list = [address({ line1: "x" }), address({ line1: "1 Main", city: "Austin", primary: true })];
    expect(primaryAddressErrors({ addresses: list }).map((e) => [e.reason, e.field])).toEqual([
      ["required", "addresses.1.state"],
      ["required", "addresses.1.postalCode"],
    ]);
    expect(primaryAddressErrors({ addresses: [address({ line1: "x" })] }).map((e) => e.field)).toEqual([
      "addresses",
    ]);
    const full = address({
      line1: "1 Main",
      city: "Austin",
      state: "TX",
      postalCode: "78701",
      primary: true,
    });
    expect(primaryAddressErrors({ addresses: [full] })).toEqual([]);
  });
});
