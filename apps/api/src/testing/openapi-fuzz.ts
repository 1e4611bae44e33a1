import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import fc from "fast-check";

/*
 * Property-based testing of a running server from its OpenAPI 3.1 document, in the manner of
 * Schemathesis (which cannot be installed here: PyPI is out of reach): fast-check generates each
 * operation's parameters and body from the document's JSON Schemas (valid data), and mutations of
 * them that the document itself says are invalid (negative data); every answer is checked the way
 * Schemathesis's default checks do (see `checkResponse`).
 */

export type JsonSchema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
  style?: string;
}

interface MediaType {
  schema?: JsonSchema;
}

interface Response {
  content?: Record<string, MediaType>;
  headers?: Record<string, { required?: boolean; schema?: JsonSchema }>;
}

interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses: Record<string, Response>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: {
    schemas?: Record<string, JsonSchema>;
    responses?: Record<string, Response>;
    headers?: Record<string, { required?: boolean; schema?: JsonSchema }>;
  };
}

/** What a `{ $ref: "#/components/<kind>/<name>" }` names (the object itself when it is no reference). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names what the reference points to
function refTarget<T>(doc: OpenApiDocument, value: unknown): T {
  const ref = (value as { $ref?: unknown } | undefined)?.$ref;
  if (typeof ref !== "string") return value as T;
  const [, kind = "", name = ""] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? [];
  const target = (doc.components as Record<string, Record<string, unknown>> | undefined)?.[kind]?.[name];
  if (!target) throw new Error(`unresolvable $ref ${ref}`);
  return target as T;
}

function responseOf(doc: OpenApiDocument, value: Response | undefined): Response | undefined {
  return value === undefined ? undefined : refTarget<Response>(doc, value);
}

/** One operation of the document, with what a request to it is made of. */
export interface FuzzOperation {
  method: string;
  path: string;
  operationId: string;
  operation: Operation;
  security: string[];
}

export function operationsOf(doc: OpenApiDocument): FuzzOperation[] {
  const out: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      out.push({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId ?? `${method} ${path}`,
        operation,
        security: (operation.security ?? []).flatMap((s) => Object.keys(s)),
      });
    }
  }
  return out;
}

/** One generated request. */
export interface FuzzRequest {
  method: string;
  /** The path with its parameters filled in, and the query string. */
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** What was generated, before serialization (for the report of a failure). */
  input: { path: Record<string, unknown>; query: Record<string, unknown>; body?: unknown };
  /** Generated to break the document's own rules (negative data): the answer must be a 4xx. */
  negative: string | null;
}

/** Values of a resource the fuzzer should also try (ids that exist), by path parameter name. */
export type KnownValues = Record<string, readonly string[]>;

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
(addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);

/** Validators that resolve the document's `#/components/...` references. */
export class SchemaValidator {
  private readonly cache = new Map<JsonSchema, ValidateFunction>();
  private readonly id: string;

  constructor(readonly doc: OpenApiDocument) {
    this.id = `openapi-${Math.random().toString(36).slice(2)}.json`;
    ajv.addSchema({ $id: this.id, components: doc.components ?? {} });
  }

  private rebase(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((s) => this.rebase(s));
    if (schema && typeof schema === "object") {
      return Object.fromEntries(
        Object.entries(schema).map(([k, v]) => [
          k,
          k === "$ref" && typeof v === "string" && v.startsWith("#/") ? `${this.id}${v}` : this.rebase(v),
        ]),
      );
    }
    return schema;
  }

  /** Null when `value` conforms to `schema`, else ajv's first error as text. */
  check(schema: JsonSchema, value: unknown): string | null {
    let validate = this.cache.get(schema);
    if (!validate) {
      validate = ajv.compile(this.rebase(schema) as JsonSchema);
      this.cache.set(schema, validate);
    }
    if (validate(value)) return null;
    const e = validate.errors?.[0];
    return e ? `${e.instancePath || "/"} ${e.message ?? "invalid"}` : "invalid";
  }
}

/** The schema a `$ref` names (one level; the generator follows chains). */
function resolve(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; i < 10 && typeof s.$ref === "string"; i++) {
    const name = /^#\/components\/schemas\/(.+)$/.exec(s.$ref)?.[1];
    const target = name ? doc.components?.schemas?.[name] : undefined;
    if (!target) throw new Error(`unresolvable $ref ${s.$ref}`);
    const { $ref: _ref, ...rest } = s;
    s = { ...target, ...rest };
  }
  return s;
}

/** Strings as a client might send them: printable text mostly, any code point sometimes. */
function textOf(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: "binary" }) },
  );
}

function numberBounds(s: JsonSchema): { min?: number; max?: number } {
  const min =
    typeof s.minimum === "number"
      ? s.minimum
      : typeof s.exclusiveMinimum === "number"
        ? s.exclusiveMinimum + (s.type === "integer" ? 1 : Number.EPSILON * 1e3)
        : undefined;
  const max =
    typeof s.maximum === "number"
      ? s.maximum
      : typeof s.exclusiveMaximum === "number"
        ? s.exclusiveMaximum - (s.type === "integer" ? 1 : Number.EPSILON * 1e3)
        : undefined;
  return { min, max };
}

/**
 * A fast-check arbitrary of the values `schema` accepts (the JSON Schema keywords zod-openapi
 * emits: type, enum, const, anyOf/oneOf, properties/required/additionalProperties, items,
 * length and range bounds, pattern, format uuid and date-time). `known` values are mixed into the
 * strings of a property of that name (an id that exists reaches more of the server than a random one).
 */
export function arbitraryOf(
  doc: OpenApiDocument,
  raw: JsonSchema,
  known: KnownValues = {},
  name = "",
  depth = 0,
): fc.Arbitrary<unknown> {
  // A recursive schema (any JSON value) stops at a depth: null is one of its members.
  if (depth > 5 && typeof raw.$ref === "string") return fc.constant(null);
  const s = resolve(doc, raw);
  if ("const" in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const branches = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (branches) {
    return fc.oneof(
      ...branches.map((b) =>
        arbitraryOf(doc, { ...s, anyOf: undefined, oneOf: undefined, ...b }, known, name, depth),
      ),
    );
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : [];
  if (types.length > 1) {
    return fc.oneof(...types.map((type) => arbitraryOf(doc, { ...s, type }, known, name, depth)));
  }
  const type = types[0] ?? (s.properties ? "object" : s.items ? "array" : undefined);
  switch (type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      const { min, max } = numberBounds(s);
      return fc.integer({ min: Math.ceil(min ?? -1e9), max: Math.floor(max ?? 1e9) });
    }
    case "number": {
      const { min, max } = numberBounds(s);
      return fc.double({ min: min ?? -1e9, max: max ?? 1e9, noNaN: true, noDefaultInfinity: true });
    }
    case "string":
      return stringOf(s, known[name] ?? []);
    case "array": {
      const items = (s.items as JsonSchema | undefined) ?? {};
      const minLength = typeof s.minItems === "number" ? s.minItems : 0;
      const maxLength = Math.min(
        typeof s.maxItems === "number" ? s.maxItems : 4,
        minLength + 4,
        depth > 3 ? minLength : 99,
      );
      return fc.array(arbitraryOf(doc, items, known, name, depth + 1), { minLength, maxLength });
    }
    case "object":
      return objectOf(doc, s, known, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringOf(s: JsonSchema, known: readonly string[]): fc.Arbitrary<string> {
  const minLength = typeof s.minLength === "number" ? s.minLength : 0;
  const maxLength = typeof s.maxLength === "number" ? s.maxLength : Math.max(minLength, 40);
  let base: fc.Arbitrary<string>;
  if (s.format === "date-time") {
    base = fc
      .date({
        min: new Date("1900-01-01T00:00:00Z"),
        max: new Date("2200-01-01T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  } else if (typeof s.pattern === "string") {
    base = fc
      .stringMatching(new RegExp(s.pattern))
      .filter((v) => Array.from(v).length >= minLength && Array.from(v).length <= maxLength);
  } else if (s.format === "uuid") {
    base = fc.uuid();
  } else {
    base = textOf(minLength, maxLength);
  }
  return known.length > 0
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: base })
    : base;
}

function objectOf(
  doc: OpenApiDocument,
  s: JsonSchema,
  known: KnownValues,
  depth: number,
): fc.Arbitrary<unknown> {
  const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, schema] of Object.entries(properties)) {
    // Deep optional members are left out past a depth, so a generated contact stays a few KB.
    if (depth > 2 && !required.has(key)) continue;
    model[key] = arbitraryOf(doc, schema, known, key, depth + 1);
  }
  const record = fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
  const extra = s.additionalProperties;
  if (extra && typeof extra === "object" && Object.keys(properties).length === 0) {
    const keys = s.propertyNames
      ? (arbitraryOf(doc, s.propertyNames as JsonSchema, {}, "", depth + 1) as fc.Arbitrary<string>)
      : fc.string({ minLength: 1, maxLength: 20 });
    return fc.dictionary(keys, arbitraryOf(doc, extra as JsonSchema, known, "", depth + 1), { maxKeys: 3 });
  }
  return record;
}

/** Invalid variants of a valid input: the mutation named, or null when it cannot apply. */
function mutationsOf(
  doc: OpenApiDocument,
  schema: JsonSchema,
): fc.Arbitrary<{ how: string; mutate: (v: unknown) => unknown }> {
  const s = resolve(doc, schema);
  const wrongType = fc.constantFrom<unknown>(12345, true, [], "text", { x: 1 }, null);
  const options: fc.Arbitrary<{ how: string; mutate: (v: unknown) => unknown }>[] = [
    wrongType.map((w) => ({ how: `the whole value replaced by ${JSON.stringify(w)}`, mutate: () => w })),
  ];
  const properties = Object.keys(s.properties ?? {});
  if (properties.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...properties), wrongType).map(([key, w]) => ({
        how: `${key} replaced by ${JSON.stringify(w)}`,
        mutate: (v: unknown) => (isRecord(v) ? { ...v, [key]: w } : v),
      })),
    );
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    const bounded = properties.filter((k) => typeof resolve(doc, props[k] ?? {}).maxLength === "number");
    if (bounded.length > 0) {
      options.push(
        fc.constantFrom(...bounded).map((key) => ({
          how: `${key} one character over its maxLength`,
          mutate: (v: unknown) =>
            isRecord(v)
              ? { ...v, [key]: "x".repeat(Number(resolve(doc, props[key] ?? {}).maxLength) + 1) }
              : v,
        })),
      );
    }
  }
  if (s.additionalProperties === false) {
    options.push(
      fc.constant({
        how: "an undocumented member added",
        mutate: (v: unknown) => (isRecord(v) ? { ...v, notAField: 1 } : v),
      }),
    );
  }
  const required = (s.required as string[] | undefined) ?? [];
  if (required.length > 0) {
    options.push(
      fc.constantFrom(...required).map((key) => ({
        how: `required ${key} left out`,
        mutate: (v: unknown) => {
          if (!isRecord(v)) return v;
          const { [key]: _gone, ...rest } = v;
          return rest;
        },
      })),
    );
  }
  return fc.oneof(...options);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A query value as text (numbers and booleans as JSON writes them). */
function queryText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function queryString(params: Parameter[], query: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const p of params) {
    const value = query[p.name];
    if (value === undefined) continue;
    if (p.style === "deepObject" && isRecord(value)) {
      for (const [member, v] of Object.entries(value))
        if (v !== undefined) search.append(`${p.name}[${member}]`, queryText(v));
    } else if (Array.isArray(value)) {
      for (const v of value) search.append(p.name, queryText(v));
    } else if (value !== null) {
      search.append(p.name, queryText(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The arbitrary of requests to one operation: valid ones mostly, invalid ones (negative) a third of the time. */
export function requestsOf(
  doc: OpenApiDocument,
  op: FuzzOperation,
  known: KnownValues,
  validator: SchemaValidator,
): fc.Arbitrary<FuzzRequest> {
  const params = op.operation.parameters ?? [];
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const headerParams = params.filter((p) => p.in === "header");
  const pathModel = Object.fromEntries(
    pathParams.map((p) => [p.name, arbitraryOf(doc, p.schema ?? { type: "string" }, known, p.name)]),
  );
  const queryModel = Object.fromEntries(
    queryParams.map((p) => [p.name, arbitraryOf(doc, p.schema ?? { type: "string" }, known, p.name)]),
  );
  const required = queryParams.filter((p) => p.required).map((p) => p.name);
  const bodyEntry = Object.entries(op.operation.requestBody?.content ?? {})[0];
  const bodySchema = bodyEntry?.[1].schema;
  const mediaType = bodyEntry?.[0];
  const bodyArb: fc.Arbitrary<unknown> = bodySchema
    ? mediaType === "text/csv"
      ? fc.oneof(
          fc.constant("firstName,lastName\nAda,Lovelace\n"),
          fc
            .array(fc.array(textOf(0, 12), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 })
            .map((rows) => rows.map((r) => r.join(",")).join("\n")),
        )
      : arbitraryOf(doc, bodySchema, known)
    : fc.constant(undefined);
  const headersArb = fc.record(
    {
      ifMatch: headerParams.some((p) => p.name === "If-Match")
        ? fc.integer({ min: 1, max: 3 }).map((n) => `"${n}"`)
        : fc.constant(undefined),
      idempotencyKey: headerParams.some((p) => p.name === "Idempotency-Key")
        ? fc.uuid()
        : fc.constant(undefined),
    },
    { requiredKeys: [] },
  );
  const valid = fc.record({
    path: fc.record(pathModel),
    query: fc.record(queryModel, { requiredKeys: required }),
    body: bodyArb,
    headers: headersArb,
  });
  const negativeTarget = bodySchema && mediaType !== "text/csv" ? bodySchema : null;
  const negative = negativeTarget
    ? fc.tuple(valid, mutationsOf(doc, negativeTarget)).map(([v, m]) => {
        const body = m.mutate(v.body);
        // Negative only when the document itself calls the result invalid.
        return { ...v, body, negative: validator.check(negativeTarget, body) === null ? null : m.how };
      })
    : null;
  const both = negative
    ? fc.oneof(
        { weight: 2, arbitrary: valid.map((v) => ({ ...v, negative: null as string | null })) },
        { weight: 1, arbitrary: negative },
      )
    : valid.map((v) => ({ ...v, negative: null as string | null }));
  return both.map((v) => {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(queryText(v.path[name] ?? "")),
    );
    const headers: Record<string, string> = {};
    if (v.headers.ifMatch) headers["if-match"] = v.headers.ifMatch;
    if (v.headers.idempotencyKey) headers["idempotency-key"] = v.headers.idempotencyKey;
    let body: string | undefined;
    if (v.body !== undefined && mediaType) {
      headers["content-type"] = mediaType;
      body = typeof v.body === "string" && mediaType === "text/csv" ? v.body : JSON.stringify(v.body);
    }
    return {
      method: op.method,
      url: `${path}${queryString(queryParams, v.query)}`,
      headers,
      ...(body !== undefined ? { body } : {}),
      input: { path: v.path, query: v.query, body: v.body },
      negative: v.negative,
    };
  });
}

/** An answer as the checks see it. */
export interface FuzzResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Schemathesis's default checks on one answer; the failures found (empty when it passes):
 * not_a_server_error (no 5xx), status_code_conformance (the status is documented),
 * content_type_conformance (the documented media type), response_headers_conformance (required
 * headers present and conforming), response_schema_conformance (the body validates against the
 * documented schema), negative_data_rejection (data the document calls invalid gets a 4xx).
 */
export function checkResponse(
  op: FuzzOperation,
  request: FuzzRequest,
  response: FuzzResponse,
  validator: SchemaValidator,
): string[] {
  const failures: string[] = [];
  const { status } = response;
  if (status >= 500) failures.push(`not_a_server_error: ${status} ${response.text.slice(0, 300)}`);
  if (request.negative && status >= 200 && status < 300) {
    failures.push(`negative_data_rejection: ${status} for invalid data (${request.negative})`);
  }
  const documented = responseOf(
    validator.doc,
    op.operation.responses[String(status)] ??
      op.operation.responses[`${String(status)[0]}XX`] ??
      op.operation.responses.default,
  );
  if (!documented) {
    failures.push(
      `status_code_conformance: ${status} is not documented (${Object.keys(op.operation.responses).join(", ")})`,
    );
    return failures;
  }
  for (const [name, ref] of Object.entries(documented.headers ?? {})) {
    const header = refTarget<{ required?: boolean; schema?: JsonSchema }>(validator.doc, ref);
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) failures.push(`response_headers_conformance: required header ${name} missing`);
    } else if (header.schema) {
      const error = validator.check(header.schema, value);
      if (error) failures.push(`response_headers_conformance: ${name}: ${error}`);
    }
  }
  const content = documented.content;
  if (!content) {
    if (response.text !== "") failures.push(`response_schema_conformance: a body where none is documented`);
    return failures;
  }
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const entry = content[mediaType];
  if (!entry) {
    failures.push(
      `content_type_conformance: ${mediaType || "(none)"} is not one of ${Object.keys(content).join(", ")}`,
    );
    return failures;
  }
  if (entry.schema && mediaType.endsWith("json")) {
    let body: unknown;
    try {
      body = JSON.parse(response.text) as unknown;
    } catch {
      failures.push(`response_schema_conformance: the body is not JSON`);
      return failures;
    }
    const error = validator.check(entry.schema, body);
    if (error) failures.push(`response_schema_conformance: ${error} in ${response.text.slice(0, 300)}`);
  }
  return failures;
}
