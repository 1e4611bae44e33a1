import { describe, expect, it } from "vitest";

import { ContactInput } from "./contact.js";
import type { StoredContact } from "./contact.js";
import {
  JSON_PATCH_LIMITS,
  JsonPatch,
  applyContactPatch,
  applyJsonPatch,
  contactPatchViolations,
  diffDocuments,
} from "./patch.js";
import type { JsonPatchOperation, JsonPatchResult, JsonValue } from "./patch.js";
import { readPeerSuite } from "./testing/peer-suites.js";

/** A json-patch-tests record, as its README documents it: all members but `doc` and `patch` optional. */
interface SuiteRecord {
  doc?: JsonValue;
  patch?: unknown;
  expected?: JsonValue;
  error?: string;
  comment?: string;
  disabled?: boolean;
}

const suite = ["tests.json", "spec_tests.json"].flatMap((file) =>
  (readPeerSuite(`json-patch-tests/${file}`) as SuiteRecord[]).map((record, index) => ({
    ...record,
    name: `${file} #${index}: ${record.comment ?? record.error ?? "(no comment)"}`,
  })),
);
/** Records that are only a comment (allowed by the README) have nothing to run. */
const runnable = suite.filter((r) => "doc" in r && !r.disabled);

function expectFailure(result: JsonPatchResult): Extract<JsonPatchResult, { ok: false }>["errors"] {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.document)}`);
  return result.errors;
}

function expectDocument(result: JsonPatchResult): JsonValue {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.errors)}`);
  return result.document;
}

/** `{ reason, field }` of each error, without the messages. */
function reasons(result: JsonPatchResult): { reason: string; field: string | null }[] {
  return expectFailure(result).map(({ reason, field }) => ({ reason, field }));
}

describe("json-patch-tests peer suite", () => {
  it("has the records this file was written against", () => {
    expect(suite).toHaveLength(112);
    expect(suite.filter((r) => r.disabled)).toHaveLength(4);
    expect(runnable).toHaveLength(108);
  });

  it.each(runnable)("$name", (record) => {
    const doc = record.doc ?? null;
    const docBefore = structuredClone(doc);
    const patchBefore = structuredClone(record.patch);
    const result = applyJsonPatch(doc, record.patch);

    if ("expected" in record) expect(expectDocument(result)).toEqual(record.expected);
    else if ("error" in record) expectFailure(result);
    else expectDocument(result);
    expect(doc).toEqual(docBefore);
    expect(record.patch).toEqual(patchBefore);
  });
});

describe("applyJsonPatch", () => {
  it("never mutates the document, nested values included, nor the operations", () => {
    const doc = { a: { b: [1, 2, 3] }, c: "x" };
    const ops = [
      { op: "add", path: "/a/b/-", value: { deep: [1] } },
      { op: "add", path: "/a/b/3/deep/-", value: 2 },
      { op: "move", from: "/c", path: "/d" },
      { op: "remove", path: "/a/b/0" },
    ];
    const docBefore = structuredClone(doc);
    const opsBefore = structuredClone(ops);

    expect(expectDocument(applyJsonPatch(doc, ops))).toEqual({ a: { b: [2, 3, { deep: [1, 2] }] }, d: "x" });
    expect(doc).toEqual(docBefore);
    expect(ops).toEqual(opsBefore);
  });

  it("applies nothing when a later operation fails, and names that operation's path", () => {
    const doc = { emails: [{ address: "a@example.com" }] };
    const result = applyJsonPatch(doc, [
      { op: "replace", path: "/emails/0/address", value: "b@example.com" },
      { op: "remove", path: "/emails/3" },
    ]);
    expect(reasons(result)).toEqual([{ reason: "invalid_path", field: "/emails/3" }]);
    expect(doc).toEqual({ emails: [{ address: "a@example.com" }] });
  });

  it("reports a failed test as patch_test_failed at its path", () => {
    const result = applyJsonPatch({ version: 3, name: "x" }, [{ op: "test", path: "/name", value: "y" }]);
    expect(reasons(result)).toEqual([{ reason: "patch_test_failed", field: "/name" }]);
  });

  it("names `from` when the source of a move or copy is missing", () => {
    expect(reasons(applyJsonPatch({ a: 1 }, [{ op: "copy", from: "/b", path: "/c" }]))).toEqual([
      { reason: "invalid_path", field: "/b" },
    ]);
  });

  it("does not read inherited members: only own members and array items exist", () => {
    const doc = { a: [1, 2], o: {} };
    for (const op of [
      { op: "copy", from: "/o/toString", path: "/x" },
      { op: "copy", from: "/a/length", path: "/x" },
      { op: "remove", path: "/o/hasOwnProperty" },
      { op: "test", path: "/o/valueOf", value: null },
      { op: "add", path: "/o/toString/x", value: 1 },
    ]) {
      expect(reasons(applyJsonPatch(doc, [op]))[0]?.reason, JSON.stringify(op)).toBe("invalid_path");
    }
  });

  it.each(["/__proto__/x", "/a/constructor/prototype", "/a/prototype", "/__proto__"])(
    "refuses the prototype path %s, in path and in from",
    (pointer) => {
      const doc = { a: {} };
      expect(reasons(applyJsonPatch(doc, [{ op: "add", path: pointer, value: { polluted: true } }]))).toEqual(
        [{ reason: "forbidden_path", field: pointer }],
      );
      expect(reasons(applyJsonPatch(doc, [{ op: "copy", from: pointer, path: "/b" }]))).toEqual([
        { reason: "forbidden_path", field: pointer },
      ]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(doc).toEqual({ a: {} });
    },
  );

  it("reads escaped tokens: a member named `a/__proto__` is an ordinary member", () => {
    expect(expectDocument(applyJsonPatch({}, [{ op: "add", path: "/a~1__proto__", value: 1 }]))).toEqual({
      "a/__proto__": 1,
    });
  });

  it("replaces the whole document at the root, but never removes it", () => {
    expect(expectDocument(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }]))).toEqual([1]);
    expect(reasons(applyJsonPatch({ a: 1 }, [{ op: "remove", path: "" }]))).toEqual([
      { reason: "invalid", field: "" },
    ]);
  });

  it("reports malformed operations at their place in the patch", () => {
    expect(reasons(applyJsonPatch({}, [{ op: "add", path: "/a" }]))).toEqual([
      { reason: "required", field: "patch.0.value" },
    ]);
    expect(reasons(applyJsonPatch({}, [{ op: "add", path: "a", value: 1 }]))).toEqual([
      { reason: "invalid", field: "patch.0.path" },
    ]);
    expect(reasons(applyJsonPatch({}, [{ op: "spam", path: "/a" }]))).toEqual([
      { reason: "invalid", field: "patch.0.op" },
    ]);
    expect(reasons(applyJsonPatch({}, { op: "add", path: "/a", value: 1 }))).toEqual([
      { reason: "invalid", field: "patch" },
    ]);
  });

  it(`refuses more than ${JSON_PATCH_LIMITS.operations} operations`, () => {
    const ops = Array.from({ length: JSON_PATCH_LIMITS.operations + 1 }, () => ({
      op: "test",
      path: "",
      value: {},
    }));
    expect(reasons(applyJsonPatch({}, ops))).toEqual([{ reason: "too_big", field: "patch" }]);
    expect(expectDocument(applyJsonPatch({}, ops.slice(1)))).toEqual({});
  });
});

describe("JsonPatch", () => {
  it("refuses members an operation does not define (stricter than RFC 6902 §4)", () => {
    const result = JsonPatch.safeParse([{ op: "remove", path: "/a", value: 1 }]);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: "unrecognized_keys", keys: ["value"] });
  });
});

const CONTACT_ID = "5f1e2d3c-4b5a-4987-8765-43210fedcba9";

/** A stored contact: the normalized document plus the server-managed fields. */
const contact: StoredContact = {
  ...ContactInput.parse({
    subtype: "person",
    firstName: "Ada",
    lastName: "Lovelace",
    emails: [{ address: "ada@example.com", primary: true }],
    customFields: { shoeSize: 38 },
  }),
  id: CONTACT_ID,
  number: 7,
  version: 3,
  mergedIds: [],
  provenance: null,
  lastBulkImport: null,
  createdAt: "2025-01-02T03:04:05.000Z",
  createdBy: "u1",
  updatedAt: "2025-01-02T03:04:05.000Z",
  updatedBy: "u1",
};

describe("contactPatchViolations", () => {
  const protectedFields = [
    "id",
    "number",
    "version",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "provenance",
    "mergedIds",
    "tenantId",
  ];

  it.each(protectedFields)("refuses any operation on the server-managed /%s, naming the path", (field) => {
    const ops: JsonPatchOperation[] = [
      { op: "replace", path: `/${field}`, value: 1 },
      { op: "remove", path: `/${field}/0` },
      { op: "test", path: `/${field}`, value: 1 },
      { op: "copy", from: `/${field}`, path: "/notes" },
    ];
    expect(contactPatchViolations(ops).map(({ reason, field }) => ({ reason, field }))).toEqual([
      { reason: "server_managed", field: `/${field}` },
      { reason: "server_managed", field: `/${field}/0` },
      { reason: "server_managed", field: `/${field}` },
      { reason: "server_managed", field: `/${field}` },
    ]);
  });

  it("refuses prototype segments anywhere and the whole document", () => {
    const ops: JsonPatchOperation[] = [
      { op: "add", path: "/__proto__/x", value: 1 },
      { op: "add", path: "/customFields/constructor/prototype", value: 1 },
      { op: "move", from: "/emails/0", path: "/prototype" },
      { op: "replace", path: "", value: {} },
      { op: "test", path: "", value: {} },
    ];
    expect(contactPatchViolations(ops).map(({ reason, field }) => ({ reason, field }))).toEqual([
      { reason: "forbidden_path", field: "/__proto__/x" },
      { reason: "forbidden_path", field: "/customFields/constructor/prototype" },
      { reason: "forbidden_path", field: "/prototype" },
      { reason: "forbidden_path", field: "" },
      { reason: "forbidden_path", field: "" },
    ]);
  });

  it("allows editable fields, nested ones included", () => {
    expect(
      contactPatchViolations([
        { op: "replace", path: "/firstName", value: "Augusta" },
        { op: "add", path: "/emails/-", value: { address: "a@example.com" } },
        { op: "move", from: "/emails/0", path: "/emails/1" },
        { op: "test", path: "/customFields/shoeSize", value: 38 },
        { op: "remove", path: "/customFields/versionNote" },
      ]),
    ).toEqual([]);
  });
});

describe("applyContactPatch", () => {
  it("applies an allowed patch to a copy of the contact", () => {
    const before = structuredClone(contact);
    const patched = expectDocument(
      applyContactPatch(contact, [
        { op: "test", path: "/emails/0/address", value: "ada@example.com" },
        { op: "replace", path: "/firstName", value: "Augusta" },
      ]),
    );
    expect(patched).toMatchObject({ id: CONTACT_ID, version: 3, firstName: "Augusta" });
    expect(contact).toEqual(before);
  });

  it("refuses the whole patch when one operation touches a server-managed field", () => {
    const result = applyContactPatch(contact, [
      { op: "replace", path: "/firstName", value: "Augusta" },
      { op: "replace", path: "/version", value: 99 },
    ]);
    expect(reasons(result)).toEqual([{ reason: "server_managed", field: "/version" }]);
  });

  it("refuses members the operation does not define", () => {
    expect(reasons(applyContactPatch(contact, [{ op: "remove", path: "/notes", from: "/x" }]))).toEqual([
      { reason: "unknown_field", field: "patch.0.from" },
    ]);
  });
});

describe("diffDocuments", () => {
  const pairs: [string, JsonValue, JsonValue][] = [
    ["a field change", { a: 1, b: "x" }, { a: 2, b: "x" }],
    ["added and removed members", { a: 1, gone: true }, { a: 1, added: { n: [1] } }],
    ["array edits", { list: [1, 2, 3, 4] }, { list: [0, 2, 4, 5] }],
    ["nested arrays of objects", { e: [{ x: 1 }, { x: 2 }] }, { e: [{ x: 2 }, { x: 3, y: null }] }],
    ["a type change", { a: [1] }, { a: { 0: 1 } }],
    ["the root type", { a: 1 }, [1]],
    ["keys needing escapes", { "a/b": 1, "c~d": 2 }, { "a/b": 3 }],
    ["no change", { a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }],
  ];

  it.each(pairs)("round-trips %s", (_name, before, after) => {
    const patch = diffDocuments(before, after);
    expect(JsonPatch.safeParse(patch).success).toBe(true);
    expect(expectDocument(applyJsonPatch(before, patch))).toEqual(after);
  });

  it("round-trips a contact edit and gives an empty patch for no change", () => {
    const after: StoredContact = {
      ...contact,
      firstName: "Augusta",
      emails: [...contact.emails, { address: "al@example.com", label: "home", primary: false }],
      version: 4,
    };
    const patch = diffDocuments(contact, after);
    expect(patch).toContainEqual({ op: "replace", path: "/firstName", value: "Augusta" });
    expect(expectDocument(applyJsonPatch(contact, patch))).toEqual(after);
    expect(diffDocuments(contact, structuredClone(contact))).toEqual([]);
  });
});
