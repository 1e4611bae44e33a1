import { z } from "zod";
import { describe, expect, it } from "vitest";

import {
  ContactsError,
  ErrorKind,
  ErrorReason,
  fieldErrorsFromZod,
  isServerManagedKey,
  issuePath,
} from "./errors.js";
import type { FieldErrorsOptions } from "./errors.js";

/** Parses `input` with `schema`, which must reject it, and returns the `{ reason, field }` pairs. */
function reasons(schema: z.ZodType, input: unknown, options?: FieldErrorsOptions & { prefix?: string }) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error("expected the input to be rejected");
  return fieldErrorsFromZod(result.error.issues, options?.prefix, options).map(({ reason, field }) => ({
    reason,
    field,
  }));
}

describe("issuePath", () => {
  it("joins a zod path with dots, numbers included", () => {
    expect(issuePath(["emails", 0, "address"])).toBe("emails.0.address");
  });

  it("is null for the root", () => {
    expect(issuePath([])).toBeNull();
  });

  it("puts the prefix first", () => {
    expect(issuePath(["firstName"], "contact")).toBe("contact.firstName");
    expect(issuePath([], "contact")).toBe("contact");
  });
});

describe("isServerManagedKey", () => {
  it.each([
    "id",
    "tenantId",
    "number",
    "version",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "provenance",
    "mergedIds",
  ])("is true for %s", (key) => {
    expect(isServerManagedKey(key)).toBe(true);
  });

  it.each(["firstName", "externalId", "ID", "accountId"])("is false for %s", (key) => {
    expect(isServerManagedKey(key)).toBe(false);
  });
});

describe("fieldErrorsFromZod", () => {
  const Person = z.strictObject({
    name: z.string().trim().min(1).max(5),
    code: z.string().min(3).optional(),
    age: z.number().int().min(0).max(150).optional(),
    tags: z.array(z.string()).min(1).max(2).optional(),
    kind: z.enum(["a", "b"]).optional(),
    nested: z.strictObject({ id: z.string().optional() }).optional(),
    value: z.union([z.string(), z.number()]).optional(),
  });

  it("maps a string shorter than 1 to required and shorter than its minimum to too_short", () => {
    expect(reasons(Person, { name: "  ", code: "ab" })).toEqual([
      { reason: "required", field: "name" },
      { reason: "too_short", field: "code" },
    ]);
  });

  it("maps a long string to too_long and other sizes to too_small / too_big", () => {
    expect(reasons(Person, { name: "abcdef", age: 151, tags: [] })).toEqual([
      { reason: "too_long", field: "name" },
      { reason: "too_big", field: "age" },
      { reason: "too_small", field: "tags" },
    ]);
    expect(reasons(Person, { name: "a", age: -1, tags: ["a", "b", "c"] })).toEqual([
      { reason: "too_small", field: "age" },
      { reason: "too_big", field: "tags" },
    ]);
  });

  describe("missing versus wrongly typed values", () => {
    it("reports a missing field as required, from zod's message when no input is given", () => {
      expect(reasons(Person, {})).toEqual([{ reason: "required", field: "name" }]);
    });

    it("reports a wrongly typed field as invalid, from zod's message when no input is given", () => {
      expect(reasons(Person, { name: 5, age: "7" })).toEqual([
        { reason: "invalid", field: "name" },
        { reason: "invalid", field: "age" },
      ]);
    });

    it("reads the input at the issue's path when it is given", () => {
      expect(reasons(Person, {}, { input: {} })).toEqual([{ reason: "required", field: "name" }]);
      expect(reasons(Person, { name: null }, { input: { name: null } })).toEqual([
        { reason: "invalid", field: "name" },
      ]);
    });

    it("uses the input zod reports when parsing with reportInput", () => {
      const missing = Person.safeParse({}, { reportInput: true });
      const wrong = Person.safeParse({ name: 5 }, { reportInput: true });
      expect(missing.error && fieldErrorsFromZod(missing.error.issues)[0]?.reason).toBe("required");
      expect(wrong.error && fieldErrorsFromZod(wrong.error.issues)[0]?.reason).toBe("invalid");
    });

    it("reports a missing enum as required when the input is given", () => {
      const Kind = z.object({ kind: z.enum(["a", "b"]) });
      expect(reasons(Kind, {}, { input: {} })).toEqual([{ reason: "required", field: "kind" }]);
    });

    it("without the input, can only report a missing enum as invalid (zod's message does not say)", () => {
      const Kind = z.object({ kind: z.enum(["a", "b"]) });
      expect(reasons(Kind, {})).toEqual([{ reason: "invalid", field: "kind" }]);
    });

    it("reports a value outside an enum as invalid", () => {
      expect(reasons(Person, { name: "a", kind: "c" }, { input: { name: "a", kind: "c" } })).toEqual([
        { reason: "invalid", field: "kind" },
      ]);
    });

    it("reports a root that is not an object as invalid at field null", () => {
      expect(reasons(Person, "nope")).toEqual([{ reason: "invalid", field: null }]);
      expect(reasons(Person, undefined, { input: undefined })).toEqual([{ reason: "required", field: null }]);
    });
  });

  it("takes a custom issue's reason from its params, else invalid", () => {
    const Schema = z.object({ a: z.string(), b: z.string() }).superRefine((_v, ctx) => {
      ctx.addIssue({
        code: "custom",
        path: ["a"],
        message: "taken",
        params: { reason: ErrorReason.duplicate },
      });
      ctx.addIssue({ code: "custom", path: ["b"], message: "no" });
    });
    expect(reasons(Schema, { a: "x", b: "y" })).toEqual([
      { reason: "duplicate", field: "a" },
      { reason: "invalid", field: "b" },
    ]);
  });

  it("maps a format error to invalid", () => {
    expect(reasons(z.object({ email: z.email() }), { email: "x" })).toEqual([
      { reason: "invalid", field: "email" },
    ]);
  });

  it("splits unknown keys into one error each: server_managed at the top level, unknown_field elsewhere", () => {
    const errors = fieldErrorsFromZod(
      Person.safeParse({ name: "a", id: "1", version: 2, colour: "red", nested: { id: "n", x: 1 } }).error
        ?.issues ?? [],
    );
    expect(errors).toEqual([
      { reason: "unknown_field", field: "nested.x", message: "unknown field x" },
      { reason: "server_managed", field: "id", message: "id is set by the server" },
      { reason: "server_managed", field: "version", message: "version is set by the server" },
      { reason: "unknown_field", field: "colour", message: "unknown field colour" },
    ]);
  });

  it("reports the union branch with the fewest issues, at the full path", () => {
    const Schema = z.object({
      list: z.array(z.union([z.string().min(2), z.strictObject({ a: z.number() })])),
    });
    expect(reasons(Schema, { list: ["ok", "x"] })).toEqual([{ reason: "too_short", field: "list.1" }]);
    expect(reasons(Schema, { list: [{ a: "1" }] }, { input: { list: [{ a: "1" }] } })).toEqual([
      { reason: "invalid", field: "list.0" },
    ]);
  });

  it("prefixes every field", () => {
    expect(reasons(Person, { name: "", extra: 1 }, { prefix: "contact" })).toEqual([
      { reason: "required", field: "contact.name" },
      { reason: "unknown_field", field: "contact.extra" },
    ]);
  });

  it("keeps zod's message", () => {
    const result = z.object({ n: z.number().max(1, "too many") }).safeParse({ n: 2 });
    expect(fieldErrorsFromZod(result.error?.issues ?? [])).toEqual([
      { reason: "too_big", field: "n", message: "too many" },
    ]);
  });

  it("returns no errors for no issues", () => {
    expect(fieldErrorsFromZod([])).toEqual([]);
  });
});

describe("ErrorReason and ErrorKind", () => {
  it("has distinct snake_case reasons", () => {
    const values = Object.values(ErrorReason);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it("maps each kind to its HTTP status", () => {
    expect(ErrorKind).toEqual({
      BAD_REQUEST: 400,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      TIMEOUT: 408,
      CONFLICT: 409,
      PRECONDITION_FAILED: 412,
      PAYLOAD_TOO_LARGE: 413,
      UNPROCESSABLE_CONTENT: 422,
      TOO_MANY_REQUESTS: 429,
      INTERNAL_SERVER_ERROR: 500,
      SERVICE_UNAVAILABLE: 503,
    });
  });
});

describe("ContactsError", () => {
  it("is an Error carrying its kind, field errors and details, with a message naming them", () => {
    const error = new ContactsError(
      "PRECONDITION_FAILED",
      [
        { reason: "version_mismatch", field: "expectedVersion" },
        { reason: "conflict", field: null },
      ],
      { currentVersion: 4 },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ContactsError");
    expect(error.kind).toBe("PRECONDITION_FAILED");
    expect(error.errors).toHaveLength(2);
    expect(error.details).toEqual({ currentVersion: 4 });
    expect(error.message).toBe("expectedVersion: version_mismatch; conflict");
  });

  it("falls back to the kind as message when there are no field errors", () => {
    const error = new ContactsError("INTERNAL_SERVER_ERROR", []);
    expect(error.message).toBe("INTERNAL_SERVER_ERROR");
    expect(error.details).toBeUndefined();
  });

  it("invalid: BAD_REQUEST with the given errors", () => {
    const errors = [{ reason: ErrorReason.required, field: "lastName" }];
    const error = ContactsError.invalid(errors);
    expect(error.kind).toBe("BAD_REQUEST");
    expect(error.errors).toEqual(errors);
  });

  it("notFound: NOT_FOUND on id by default, or on the given field", () => {
    expect(ContactsError.notFound()).toMatchObject({
      kind: "NOT_FOUND",
      errors: [{ reason: "not_found", field: "id" }],
    });
    expect(ContactsError.notFound("accountId").errors).toEqual([{ reason: "not_found", field: "accountId" }]);
    expect(ContactsError.notFound(null).errors).toEqual([{ reason: "not_found", field: null }]);
  });

  it("conflict: CONFLICT with the reason, field and details", () => {
    const error = ContactsError.conflict(ErrorReason.referenced, "id", { referencedBy: 2 });
    expect(error).toMatchObject({
      kind: "CONFLICT",
      errors: [{ reason: "referenced", field: "id" }],
      details: { referencedBy: 2 },
    });
  });

  it("unauthenticated: UNAUTHORIZED with a default message", () => {
    expect(ContactsError.unauthenticated().errors).toEqual([
      { reason: "unauthenticated", field: null, message: "a valid bearer token is required" },
    ]);
    expect(ContactsError.unauthenticated("token expired")).toMatchObject({
      kind: "UNAUTHORIZED",
      errors: [{ message: "token expired" }],
    });
  });

  it("forbidden: FORBIDDEN naming the missing permission", () => {
    expect(ContactsError.forbidden("contacts:write")).toMatchObject({
      kind: "FORBIDDEN",
      errors: [{ reason: "forbidden", field: null, message: "missing permission contacts:write" }],
    });
  });
});
