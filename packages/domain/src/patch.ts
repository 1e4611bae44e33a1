/**
 * JSON Patch (RFC 6902) on JSON documents, and the guard for patching contacts.
 *
 * Engine: `rfc6902` (chbrown). Against the json-patch-tests conformance suite it failed one record
 * alone (a pointer without a leading `/`, which the schema below rejects first); `fast-json-patch`
 * 3.1.1, even with validation on, failed two (it accepts array indexes with leading zeros). `rfc6902`
 * runs that suite upstream, clones every value it inserts, and its `createPatch` gives minimal array
 * diffs for the change history. Plain ES5 CommonJS with no dependencies: runs on Node 20 as it is.
 * What this module adds around it: validation of the operations, all-or-nothing on a copy,
 * whole-document operations (the library has none), and own-property path resolution (the library
 * reads inherited members such as `/toString` or an array's `/length`).
 */
import { applyPatch, createPatch } from "rfc6902";
import type { Operation } from "rfc6902";
import { z } from "zod";

import { ErrorReason, fieldErrorsFromZod, isReadOnlyContactKey } from "./errors.js";
import type { FieldError } from "./errors.js";

/** Limits on a patch request, in one place. */
export const JSON_PATCH_LIMITS = {
  /** Operations in one patch. */
  operations: 100,
  /** Characters in one JSON Pointer. */
  pointer: 1_024,
} as const;

/** The reasons a patch can fail with, besides the schema's (all in the ErrorReason catalogue). */
export const PatchErrorReason = {
  invalidPath: ErrorReason.invalidPath,
  testFailed: ErrorReason.patchTestFailed,
  forbiddenPath: ErrorReason.forbiddenPath,
} as const;

/** A field error of a patch (`field` is the JSON pointer of the failing operation). */
export type PatchFieldError = FieldError;

/** Any JSON value. */
export const JsonValue = z.json();
export type JsonValue = z.infer<typeof JsonValue>;

/** An RFC 6901 JSON Pointer: empty (the whole document) or `/`-separated tokens, `~` only as `~0` or `~1`. */
export const JsonPointer = z
  .string()
  .max(JSON_PATCH_LIMITS.pointer)
  .regex(/^(?:\/(?:[^~/]|~[01])*)*$/, "a JSON Pointer: empty or starting with /, ~ only as ~0 or ~1");
export type JsonPointer = z.infer<typeof JsonPointer>;

type ObjectFactory = typeof z.object | typeof z.strictObject;

function operationSchema(object: ObjectFactory) {
  return z.discriminatedUnion("op", [
    object({ op: z.literal("add"), path: JsonPointer, value: JsonValue }),
    object({ op: z.literal("remove"), path: JsonPointer }),
    object({ op: z.literal("replace"), path: JsonPointer, value: JsonValue }),
    object({ op: z.literal("move"), from: JsonPointer, path: JsonPointer }),
    object({ op: z.literal("copy"), from: JsonPointer, path: JsonPointer }),
    object({ op: z.literal("test"), path: JsonPointer, value: JsonValue }),
  ]);
}

function patchSchema(object: ObjectFactory) {
  return z.array(operationSchema(object)).max(JSON_PATCH_LIMITS.operations);
}

/**
 * One JSON Patch operation as a client sends it. Members an operation does not define are refused
 * (`unknown_field`), as everywhere in this API, although RFC 6902 §4 would ignore them: a misspelt
 * `from` or `value` is then reported instead of silently dropped.
 */
export const JsonPatchOperation = operationSchema(z.strictObject);
export type JsonPatchOperation = z.infer<typeof JsonPatchOperation>;

/** A JSON Patch document: at most JSON_PATCH_LIMITS.operations operations, applied in order. */
export const JsonPatch = patchSchema(z.strictObject);
export type JsonPatch = z.infer<typeof JsonPatch>;

/** The RFC 6902 reading: members an operation does not define are ignored (§4, appendix A.11). */
const RfcJsonPatch = patchSchema(z.object);

/** The outcome of applying a patch: the new document, or why nothing was applied. */
export type JsonPatchResult = { ok: true; document: JsonValue } | { ok: false; errors: PatchFieldError[] };

/** The field under which malformed operations are reported: the `patch` member of `contacts.patch`. */
const PATCH_FIELD = "patch";

const PROTOTYPE_TOKENS = new Set(["__proto__", "constructor", "prototype"]);

/** The unescaped tokens of a valid pointer (`""` has none). */
function pointerTokens(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The pointers an operation reads or writes: `path`, and `from` for move and copy. */
function pointersOf(operation: JsonPatchOperation): string[] {
  return "from" in operation ? [operation.path, operation.from] : [operation.path];
}

function prototypeViolations(operations: readonly JsonPatchOperation[]): PatchFieldError[] {
  const errors: PatchFieldError[] = [];
  for (const operation of operations) {
    for (const pointer of pointersOf(operation)) {
      if (pointerTokens(pointer).some((t) => PROTOTYPE_TOKENS.has(t))) {
        errors.push({
          reason: PatchErrorReason.forbiddenPath,
          field: pointer,
          message: "prototype members cannot be patched",
        });
      }
    }
  }
  return errors;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** Whether `tokens` name an existing value through own members only (never inherited ones). */
function resolves(document: unknown, tokens: readonly string[]): boolean {
  let value = document;
  for (const token of tokens) {
    if (Array.isArray(value)) {
      if (!ARRAY_INDEX.test(token) || Number(token) >= value.length) return false;
      value = value[Number(token)];
    } else if (typeof value === "object" && value !== null && Object.hasOwn(value, token)) {
      value = (value as Record<string, unknown>)[token];
    } else {
      return false;
    }
  }
  return true;
}

/**
 * The pointer of an operation that does not resolve, or null. The target must exist for remove,
 * replace and test, its parent for add, move and copy (which may create the last member); `from`
 * must exist. Array index rules for the last token are left to the library.
 */
function unresolvedPointer(document: unknown, operation: JsonPatchOperation): string | null {
  if ("from" in operation && !resolves(document, pointerTokens(operation.from))) return operation.from;
  const tokens = pointerTokens(operation.path);
  const mayCreate = operation.op === "add" || operation.op === "move" || operation.op === "copy";
  return resolves(document, mayCreate ? tokens.slice(0, -1) : tokens) ? null : operation.path;
}

/** The library has no whole-document operations, so the document sits under this member while patched. */
const ROOT_KEY = "document";
const ROOT = `/${ROOT_KEY}`;

function underRoot(operation: JsonPatchOperation): Operation {
  return "from" in operation
    ? { ...operation, path: ROOT + operation.path, from: ROOT + operation.from }
    : { ...operation, path: ROOT + operation.path };
}

function fromRoot(pointer: string): string {
  return pointer.startsWith(ROOT) ? pointer.slice(ROOT.length) : pointer;
}

/** Applies one operation to the wrapped document; the error to report when it failed, else null. */
function applyOne(wrapper: Record<string, unknown>, operation: JsonPatchOperation): PatchFieldError | null {
  const unresolved = unresolvedPointer(wrapper[ROOT_KEY], operation);
  if (unresolved !== null) {
    return { reason: PatchErrorReason.invalidPath, field: unresolved, message: "no value at this path" };
  }
  if (operation.op === "remove" && operation.path === "") {
    return { reason: ErrorReason.invalid, field: "", message: "the whole document cannot be removed" };
  }
  const [error] = applyPatch(wrapper, [underRoot(operation)]);
  if (!error) return null;
  switch (error.name) {
    case "TestError":
      return { reason: PatchErrorReason.testFailed, field: operation.path, message: "test failed" };
    case "MissingError":
      return {
        reason: PatchErrorReason.invalidPath,
        field: "path" in error && typeof error.path === "string" ? fromRoot(error.path) : operation.path,
        message: "no value can be set or read at this path",
      };
    default:
      return { reason: ErrorReason.invalid, field: operation.path, message: error.message };
  }
}

/**
 * Applies a JSON Patch all-or-nothing to a deep copy of `document`; neither `document` nor
 * `operations` is ever mutated. `operations` is validated here, in the RFC 6902 reading (members an
 * operation does not define are ignored); requests are validated beforehand with the stricter
 * {@link JsonPatch}. Whole-document operations (`""`) are allowed; pointers through `__proto__`,
 * `constructor` or `prototype` are refused.
 *
 * On failure nothing is applied and `errors` names the first failing operation's pointer as `field`
 * (e.g. `/emails/3`), or, for a malformed operation, its place in the patch (`patch.2.value`).
 */
export function applyJsonPatch(document: JsonValue, operations: unknown): JsonPatchResult {
  const parsed = RfcJsonPatch.safeParse(operations);
  if (!parsed.success) {
    return {
      ok: false,
      errors: fieldErrorsFromZod(parsed.error.issues, PATCH_FIELD, { input: operations }),
    };
  }
  const forbidden = prototypeViolations(parsed.data);
  if (forbidden.length) return { ok: false, errors: forbidden };

  const wrapper: Record<string, unknown> = { [ROOT_KEY]: structuredClone(document) };
  for (const operation of parsed.data) {
    const error = applyOne(wrapper, operation);
    if (error) return { ok: false, errors: [error] };
  }
  return { ok: true, document: wrapper[ROOT_KEY] as JsonValue };
}

/**
 * The problems that forbid a patch on a contact, one per offending pointer (empty when it may be
 * applied): a `path` or `from` under a server-managed top-level field (id, number, version, audit,
 * provenance, mergedIds, tenantId) is `server_managed`, even for `test` and as a copy source, since
 * `expectedVersion` is the precondition on the version; a pointer through `__proto__`, `constructor`
 * or `prototype` is `forbidden_path`, and so is the whole document (`""`), which would overwrite the
 * server-managed fields: a whole contact is sent with `contacts.replace` instead.
 */
export function contactPatchViolations(operations: readonly JsonPatchOperation[]): PatchFieldError[] {
  const errors: PatchFieldError[] = [];
  for (const operation of operations) {
    for (const pointer of pointersOf(operation)) {
      const tokens = pointerTokens(pointer);
      const [top] = tokens;
      if (top === undefined) {
        errors.push({
          reason: PatchErrorReason.forbiddenPath,
          field: pointer,
          message: "the whole contact cannot be patched; use replace",
        });
      } else if (tokens.some((t) => PROTOTYPE_TOKENS.has(t))) {
        errors.push({
          reason: PatchErrorReason.forbiddenPath,
          field: pointer,
          message: "prototype members cannot be patched",
        });
      } else if (isReadOnlyContactKey(top)) {
        errors.push({
          reason: ErrorReason.serverManaged,
          field: pointer,
          message: `${top} is set by the server`,
        });
      }
    }
  }
  return errors;
}

/**
 * Applies a client's patch to a stored contact document (server-managed fields included): validates
 * it with the strict {@link JsonPatch}, refuses it whole when {@link contactPatchViolations} finds
 * anything, then applies it as {@link applyJsonPatch} does. The result still has to pass the contact
 * schema (`ContactReplaceInput`, after dropping the server-managed fields) before it is stored.
 */
export function applyContactPatch(contact: JsonValue, operations: unknown): JsonPatchResult {
  const parsed = JsonPatch.safeParse(operations);
  if (!parsed.success) {
    return {
      ok: false,
      errors: fieldErrorsFromZod(parsed.error.issues, PATCH_FIELD, { input: operations }),
    };
  }
  const violations = contactPatchViolations(parsed.data);
  if (violations.length) return { ok: false, errors: violations };
  return applyJsonPatch(contact, parsed.data);
}

/**
 * The RFC 6902 patch that turns `before` into `after` (add, remove and replace operations, arrays
 * diffed item by item), as stored with an `updated` change event. Applying it to `before` with
 * {@link applyJsonPatch} gives `after`.
 */
export function diffDocuments(before: JsonValue, after: JsonValue): JsonPatchOperation[] {
  // The library's values may be shared with `after`; the event keeps its own copy. Its operations
  // carry `value: any`, so they fit JsonPatchOperation; the round-trip tests hold them to it.
  const patch: JsonPatchOperation[] = structuredClone(createPatch(before, after));
  return patch;
}
