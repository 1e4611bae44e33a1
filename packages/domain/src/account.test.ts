import { describe, expect, it } from "vitest";

import { AccountInput, AccountListInput, ChannelInput, ChannelPatchInput, patchChannel } from "./account.js";
import type { ChannelValues } from "./account.js";
import { fieldErrorsFromZod } from "./errors.js";

function errorsOf(
  schema: typeof AccountInput | typeof ChannelInput | typeof ChannelPatchInput | typeof AccountListInput,
  input: unknown,
) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error("expected the input to be rejected");
  return fieldErrorsFromZod(result.error.issues, undefined, { input }).map(({ reason, field }) => ({
    reason,
    field,
  }));
}

describe("ChannelInput", () => {
  it.each([
    ["telephone", "+1 210 555 0100"],
    ["email", "support@example.com"],
    ["website", "https://support.example.com"],
  ])("accepts a channel with a label and only a %s, defaulting integration", (key, value) => {
    expect(ChannelInput.parse({ label: "general", [key]: value })).toEqual({
      label: "general",
      integration: false,
      [key]: value,
    });
  });

  it("requires the label, as the ITSM seed says (no default)", () => {
    expect(errorsOf(ChannelInput, { telephone: "+1 210 555 0100" })).toEqual([
      { reason: "required", field: "label" },
    ]);
    expect(errorsOf(ChannelInput, { label: null, telephone: "+1 210 555 0100" })).toEqual([
      { reason: "invalid", field: "label" },
    ]);
  });

  it("rejects a channel with none of telephone, email, website, reporting telephone as required", () => {
    expect(errorsOf(ChannelInput, { label: "general" })).toEqual([
      { reason: "required", field: "telephone" },
    ]);
  });

  it("counts a blank or null value as absent", () => {
    expect(errorsOf(ChannelInput, { label: "general", telephone: null, website: null })).toEqual([
      { reason: "required", field: "telephone" },
    ]);
    expect(errorsOf(ChannelInput, { label: "general", telephone: "  " })).toEqual([
      { reason: "required", field: "telephone" },
    ]);
  });

  it("rejects two values, naming the second one", () => {
    expect(
      errorsOf(ChannelInput, {
        label: "general",
        telephone: "+1 210 555 0100",
        email: "support@example.com",
      }),
    ).toEqual([{ reason: "invalid", field: "email" }]);
    expect(
      errorsOf(ChannelInput, {
        label: "general",
        email: "support@example.com",
        website: "https://example.com",
      }),
    ).toEqual([{ reason: "invalid", field: "website" }]);
  });

  it("rejects all three values", () => {
    expect(
      errorsOf(ChannelInput, {
        label: "general",
        telephone: "+1 210 555 0100",
        email: "support@example.com",
        website: "https://x.io",
      }),
    ).toEqual([{ reason: "invalid", field: "email" }]);
  });

  it.each(["fax", "service_desk_fax"])("accepts the %s label on a telephone", (label) => {
    expect(ChannelInput.parse({ label, telephone: "+1 210 555 0199" }).label).toBe(label);
  });

  it.each([
    ["fax", { email: "fax@example.com" }],
    ["service_desk_fax", { website: "https://fax.example.com" }],
  ])("rejects the %s label without a telephone", (label, value) => {
    expect(errorsOf(ChannelInput, { label, ...value })).toEqual([{ reason: "invalid", field: "label" }]);
  });

  it("accepts the service_desk label on an email", () => {
    expect(ChannelInput.parse({ label: "service_desk", email: "desk@example.com" }).label).toBe(
      "service_desk",
    );
  });

  it("rejects an unknown label", () => {
    expect(errorsOf(ChannelInput, { label: "pager", telephone: "1" })).toEqual([
      { reason: "invalid", field: "label" },
    ]);
  });

  it("accepts 255 characters and rejects 256 with too_long", () => {
    expect(ChannelInput.parse({ label: "general", website: "w".repeat(255) }).website).toHaveLength(255);
    expect(errorsOf(ChannelInput, { label: "general", website: "w".repeat(256) })).toEqual([
      { reason: "too_long", field: "website" },
    ]);
    expect(errorsOf(ChannelInput, { label: "general", telephone: "1".repeat(256) })).toEqual([
      { reason: "too_long", field: "telephone" },
    ]);
    expect(
      errorsOf(ChannelInput, { label: "general", email: `${"e".repeat(60)}@${"x".repeat(192)}.io` }),
    ).toEqual([{ reason: "too_long", field: "email" }]);
  });

  it("trims values", () => {
    expect(ChannelInput.parse({ label: "general", telephone: "  +1 210 555 0100 " }).telephone).toBe(
      "+1 210 555 0100",
    );
  });

  it("rejects an invalid email", () => {
    expect(errorsOf(ChannelInput, { label: "general", email: "not an email" })).toEqual([
      { reason: "invalid", field: "email" },
    ]);
  });

  it("keeps the integration flag", () => {
    expect(
      ChannelInput.parse({ label: "general", telephone: "+1 210 555 0100", integration: true }).integration,
    ).toBe(true);
    expect(
      ChannelInput.parse({ label: "general", telephone: "+1 210 555 0100", integration: false }).integration,
    ).toBe(false);
  });

  it("rejects unknown and server-managed fields", () => {
    expect(
      errorsOf(ChannelInput, { label: "general", telephone: "+1 210 555 0100", id: "x", color: "red" }),
    ).toEqual([
      { reason: "server_managed", field: "id" },
      { reason: "unknown_field", field: "color" },
    ]);
  });
});

describe("AccountInput", () => {
  const account: AccountInput = { type: "CLOUD", key: "123456", name: "Acme Cloud" };

  it("parses an account, trimming text and defaulting parentId and address to null", () => {
    expect(AccountInput.parse({ type: " CLOUD ", key: " 123456 ", name: " Acme Cloud " })).toEqual({
      ...account,
      parentId: null,
      address: null,
    });
  });

  it("keeps an address, trimmed, with absent lines null; one holding no line at all is null", () => {
    expect(
      AccountInput.parse({ ...account, address: { line1: " 1 Main St ", city: "Austin" } }).address,
    ).toEqual({
      line1: "1 Main St",
      line2: null,
      city: "Austin",
      state: null,
      postalCode: null,
      country: null,
    });
    expect(AccountInput.parse({ ...account, address: { line1: " ", city: null } }).address).toBeNull();
  });

  it("keeps a parent id", () => {
    const parentId = "6f0c1c8e-3f57-4b4e-9d3a-0b8a7f1d2c01";
    expect(AccountInput.parse({ ...account, parentId }).parentId).toBe(parentId);
  });

  it("requires type, key and name", () => {
    expect(errorsOf(AccountInput, {})).toEqual([
      { reason: "required", field: "type" },
      { reason: "required", field: "key" },
      { reason: "required", field: "name" },
    ]);
    expect(errorsOf(AccountInput, { type: "CLOUD", key: " ", name: "" })).toEqual([
      { reason: "required", field: "key" },
      { reason: "required", field: "name" },
    ]);
  });

  it("rejects a type that is not upper-case letters, digits and underscores", () => {
    expect(errorsOf(AccountInput, { ...account, type: "cloud" })).toEqual([
      { reason: "invalid", field: "type" },
    ]);
    expect(errorsOf(AccountInput, { ...account, type: "1CLOUD" })).toEqual([
      { reason: "invalid", field: "type" },
    ]);
    expect(AccountInput.parse({ ...account, type: "GUIDEWIRE_PC2" }).type).toBe("GUIDEWIRE_PC2");
  });

  it("applies the length limits", () => {
    expect(
      errorsOf(AccountInput, { type: "T".repeat(51), key: "k".repeat(101), name: "n".repeat(256) }),
    ).toEqual([
      { reason: "too_long", field: "type" },
      { reason: "too_long", field: "key" },
      { reason: "too_long", field: "name" },
    ]);
  });

  it("rejects a parent id that is not a uuid, and unknown fields", () => {
    expect(errorsOf(AccountInput, { ...account, parentId: "42", id: "x" })).toEqual([
      { reason: "invalid", field: "parentId" },
      { reason: "server_managed", field: "id" },
    ]);
  });
});

describe("AccountListInput", () => {
  it("defaults the limit and keeps null apart from an absent parentId", () => {
    expect(AccountListInput.parse({})).toEqual({ limit: 50 });
    expect(AccountListInput.parse({ parentId: null, type: "CLOUD" })).toEqual({
      limit: 50,
      parentId: null,
      type: "CLOUD",
    });
  });

  it.each([0, -1, 1001, 1.5])("rejects the limit %d", (limit) => {
    expect(errorsOf(AccountListInput, { limit }).map((e) => e.field)).toEqual(["limit"]);
  });

  it("rejects a bad parentId, type, and unknown fields", () => {
    expect(errorsOf(AccountListInput, { parentId: "42", type: "cloud", sort: "name" })).toEqual([
      { reason: "invalid", field: "parentId" },
      { reason: "invalid", field: "type" },
      { reason: "unknown_field", field: "sort" },
    ]);
  });
});

describe("ChannelPatchInput and patchChannel", () => {
  const phone: ChannelValues = {
    label: "fax",
    telephone: "+1 210 555 0199",
    email: null,
    website: null,
    integration: false,
  };
  const mail: ChannelValues = { ...phone, label: "general", telephone: null, email: "desk@example.com" };

  function patchErrors(current: ChannelValues, patch: unknown) {
    const result = patchChannel(current, ChannelPatchInput.parse(patch));
    if (result.success) throw new Error("expected the patch to be rejected");
    return fieldErrorsFromZod(result.issues).map(({ reason, field }) => ({ reason, field }));
  }

  it("accepts any subset of the fields, without defaults", () => {
    expect(ChannelPatchInput.parse({})).toEqual({});
    expect(ChannelPatchInput.parse({ integration: true })).toEqual({ integration: true });
  });

  it("validates each given field like ChannelInput", () => {
    expect(errorsOf(ChannelPatchInput, { email: "nope", website: "w".repeat(256), label: "pager" })).toEqual([
      { reason: "invalid", field: "label" },
      { reason: "invalid", field: "email" },
      { reason: "too_long", field: "website" },
    ]);
    expect(errorsOf(ChannelPatchInput, { telephone: " ", id: "x" })).toEqual([
      { reason: "required", field: "telephone" },
      { reason: "server_managed", field: "id" },
    ]);
  });

  it("changes the given fields and keeps the others", () => {
    expect(patchChannel(phone, { telephone: " +1 210 555 0100 ", integration: true })).toEqual({
      success: true,
      data: { ...phone, telephone: "+1 210 555 0100", integration: true },
    });
    expect(patchChannel(phone, {})).toEqual({ success: true, data: phone });
  });

  it("switches the value when the old one is cleared", () => {
    expect(patchChannel(mail, { email: null, website: "https://example.com" })).toEqual({
      success: true,
      data: { ...mail, email: null, website: "https://example.com" },
    });
  });

  it("refuses a second value, naming the one the patch sent", () => {
    expect(patchErrors(phone, { label: "general", email: "desk@example.com" })).toEqual([
      { reason: "invalid", field: "email" },
    ]);
    expect(patchErrors(mail, { telephone: "+1 210 555 0100" })).toEqual([
      { reason: "invalid", field: "telephone" },
    ]);
  });

  it("refuses clearing the only value", () => {
    expect(patchErrors(mail, { email: null })).toEqual([{ reason: "required", field: "telephone" }]);
  });

  it("refuses a fax label without a telephone, from either side of the merge", () => {
    expect(patchErrors(mail, { label: "fax" })).toEqual([{ reason: "invalid", field: "label" }]);
    expect(patchErrors(phone, { telephone: null, email: "desk@example.com" })).toEqual([
      { reason: "invalid", field: "label" },
    ]);
  });
});
