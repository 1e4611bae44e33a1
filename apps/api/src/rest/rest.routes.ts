import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { Context, Hono } from "hono";
import { accepts } from "hono/accepts";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { ContactsError, ErrorKind, ErrorReason } from "@contacts/domain/errors";
import type { FieldError } from "@contacts/domain/errors";
import { loggableError } from "@contacts/db/loggable-error";

import { appRouter } from "../router.js";
import type { ApiServices } from "../services.js";
import { bearerFrom, createInnerContext } from "../trpc/context.js";
import { fieldErrorsOf, toTrpcError } from "../trpc/errors.js";
import { createCallerFactory } from "../trpc/init.js";
import { buildOpenApiDocument } from "./openapi.js";
import { procedureRoutes } from "./rest-routes.js";
import type { ProcedureRoute } from "./rest-routes.js";
import { XML_MEDIA_TYPES, XmlBodyError, jsonToXml, rootElementOf, xmlToJson } from "./xml.js";
import type { XmlMediaType } from "./xml.js";

interface Env {
  Variables: { requestId: string };
}

const createCaller = createCallerFactory(appRouter);

/** Thrown by the glue for a request it cannot turn into an input (status, reason, field). */
class RequestError extends Error {
  constructor(
    readonly status: 400 | 415,
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** The schema under `.optional()`, `.nullable()`, `.default()` and pipes. */
function baseOf(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (
      s instanceof z.ZodOptional ||
      s instanceof z.ZodNullable ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodPrefault
    ) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else {
      return s;
    }
  }
}

function isNullable(schema: z.ZodType): boolean {
  return schema.safeParse(null).success;
}

/**
 * One query or path value as its field's type: numbers and booleans from their text, an empty value
 * of a nullable field as null; anything else stays text, for the procedure's schema to judge.
 */
function scalarOf(schema: z.ZodType | undefined, text: string): unknown {
  if (!schema) return text;
  if (text === "" && isNullable(schema)) return null;
  const base = baseOf(schema);
  if (base instanceof z.ZodNumber && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (base instanceof z.ZodBoolean && (text === "true" || text === "false")) return text === "true";
  return text;
}

/**
 * The input members a query string gives: repeated keys for arrays (`status=a&status=b`), `name[key]`
 * for an object (`sort[field]=lastName`, OpenAPI's deepObject). Keys the input does not have are
 * passed on, so the procedure's strict schema names them (`unknown_field`).
 */
function queryInput(shape: Record<string, z.ZodType>, query: URLSearchParams): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    const deep = /^([^[\]]+)\[([^[\]]+)\]$/.exec(key);
    if (deep) {
      const [, name = "", member = ""] = deep;
      const field = shape[name];
      const object = field ? baseOf(field) : undefined;
      const memberSchema =
        object instanceof z.ZodObject ? (object.shape as Record<string, z.ZodType>)[member] : undefined;
      const holder = (input[name] ??= {}) as Record<string, unknown>;
      holder[member] = values.length === 1 ? scalarOf(memberSchema, values[0] ?? "") : values;
      continue;
    }
    const field = shape[key];
    const base = field ? baseOf(field) : undefined;
    if (base instanceof z.ZodArray) {
      input[key] = values.map((v) => scalarOf(base.element as z.ZodType, v));
    } else {
      input[key] = values.length === 1 ? scalarOf(field, values[0] ?? "") : values;
    }
  }
  return input;
}

/** `If-Match: "3"` (or `W/"3"`, or `3`) as 3; absent or `*` as undefined. */
function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === "*") return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) throw new RequestError(400, "If-Match", 'If-Match must be an entity tag "<version>"');
  return Number(match[1]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The contact and account resources speak XML too (xml.ts): answers always, bodies unless JSON Patch. */
function speaksXml(path: string): boolean {
  return /^\/(contacts|accounts)(\/|$)/.test(path);
}

/** The XML type `Accept` prefers over JSON (ties go to JSON), or null. */
function xmlAccepted(c: Context): XmlMediaType | null {
  const chosen = accepts(c, {
    header: "Accept",
    supports: ["application/json", ...XML_MEDIA_TYPES],
    default: "application/json",
  });
  return (XML_MEDIA_TYPES as readonly string[]).includes(chosen) ? (chosen as XmlMediaType) : null;
}

/** `value` as JSON, or as XML with `root` as its root element when the route speaks XML and the caller prefers it. */
function answer(c: Context, path: string, root: string, value: unknown, status: number): Response {
  if (!speaksXml(path)) return c.json(value, status as 200);
  c.header("vary", "Accept");
  const xml = xmlAccepted(c);
  if (!xml) return c.json(value, status as 200);
  return c.body(jsonToXml(value, root), status as 200, { "content-type": `${xml}; charset=UTF-8` });
}

/** The request body as JSON of the route's media type; undefined when there is none. */
async function bodyOf(c: Context, route: ProcedureRoute): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  const expected = route.route.contentType ?? "application/json";
  const media = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const xmlBody = !route.route.contentType && speaksXml(route.route.path);
  if (xmlBody && (XML_MEDIA_TYPES as readonly string[]).includes(media)) {
    try {
      return xmlToJson(text);
    } catch (error) {
      if (error instanceof XmlBodyError) throw new RequestError(400, error.field, error.message);
      throw error;
    }
  }
  if (media !== expected) {
    const types = xmlBody ? `${expected} or ${XML_MEDIA_TYPES.join(" or ")}` : expected;
    throw new RequestError(415, "Content-Type", `the body must be ${types}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RequestError(400, null, "the body is not JSON");
  }
}

/** A field of the procedure's input as the REST caller names it (relative to its body, or If-Match). */
function restField(field: string | null, route: ProcedureRoute, versionInHeader: boolean): string | null {
  if (field === null) return null;
  if (versionInHeader && field === "expectedVersion") return "If-Match";
  const body = route.route.body;
  if (body && field === body) return null;
  if (body && field.startsWith(`${body}.`)) return field.slice(body.length + 1);
  return field;
}

function fill(template: string, ...sources: unknown[]): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    for (const source of sources) {
      const value = isObject(source) ? source[name] : undefined;
      if (typeof value === "string" || typeof value === "number") return encodeURIComponent(String(value));
    }
    return "";
  });
}

/** The `{ message, errors: [{ reason, field }], details? }` answer of a failed call. */
function errorAnswer(
  c: Context,
  services: ApiServices,
  route: ProcedureRoute,
  error: unknown,
  input: unknown,
  versionInHeader: boolean,
): Response {
  const send = (body: unknown, status: number) => answer(c, route.route.path, "fault", body, status);
  if (error instanceof RequestError) {
    return send(
      { message: error.message, errors: [{ reason: ErrorReason.invalid, field: error.field }] },
      error.status,
    );
  }
  const trpcError = error instanceof TRPCError ? error : toTrpcError(error);
  const cause = trpcError.cause instanceof ContactsError ? trpcError.cause : null;
  const status = cause ? ErrorKind[cause.kind] : getHTTPStatusCodeFromError(trpcError);
  if (status >= 500 && !cause) {
    services.log.error(
      { requestId: c.get("requestId") as string, path: route.procedure, ...loggableError(trpcError.cause) },
      "procedure failed",
    );
    return send({ message: "internal error", errors: [{ reason: ErrorReason.internal, field: null }] }, 500);
  }
  const errors: FieldError[] = fieldErrorsOf(trpcError, input).map(({ reason, field }) => ({
    reason,
    field: restField(field, route, versionInHeader),
  }));
  const retryAfter = cause?.details?.retryAfterSeconds;
  if (retryAfter !== undefined) c.header("retry-after", String(Math.ceil(Number(retryAfter))));
  return send(
    {
      message: errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; "),
      errors,
      ...(cause?.details ? { details: cause.details } : {}),
    },
    status,
  );
}

/** Serves one procedure's route: the request becomes the procedure's input, its answer a resource. */
async function serve(c: Context, services: ApiServices, route: ProcedureRoute): Promise<Response> {
  const { method, body: bodyKey, status = 200, ifMatch, etag, location, cursorParam } = route.route;
  let input: unknown = undefined;
  let versionInHeader = false;
  try {
    const shape = (route.input?.shape ?? {}) as Record<string, z.ZodType>;
    const url = new URL(c.req.url);
    const hasBody = method !== "GET" && method !== "DELETE";
    const body = hasBody ? await bodyOf(c, route) : undefined;
    if (route.input) {
      const fromPath: Record<string, unknown> = {};
      for (const name of route.pathParams) fromPath[name] = scalarOf(shape[name], c.req.param(name) ?? "");
      let fromBody: Record<string, unknown> = {};
      if (bodyKey) {
        if (body !== undefined) fromBody = { [bodyKey]: body };
      } else if (body !== undefined) {
        if (!isObject(body)) throw new RequestError(400, null, "the body must be a JSON object");
        fromBody = body;
      }
      const version = ifMatch ? versionFromIfMatch(c.req.header("if-match")) : undefined;
      versionInHeader = version !== undefined;
      input = {
        ...queryInput(shape, url.searchParams),
        ...fromBody,
        ...fromPath,
        ...(version !== undefined ? { expectedVersion: version } : {}),
      };
    }
    const ctx = createInnerContext(services, {
      requestId: c.get("requestId") as string,
      bearerToken: bearerFrom(c.req.header("authorization")),
      tenantHeader: c.req.header("x-tenant-id")?.trim() || null,
      idempotencyKeyHeader: c.req.header("idempotency-key") ?? null,
      batched: false,
    });
    const call = route.procedure
      .split(".")
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], createCaller(ctx)) as (
      input: unknown,
    ) => Promise<unknown>;
    const data = await call(input);

    if (status === 204) return c.body(null, 204);
    if (etag && isObject(data) && typeof data.version === "number") c.header("etag", `"${data.version}"`);
    if (location) c.header("location", `/v1${fill(location, data, input)}`);
    if (cursorParam && isObject(data) && typeof data.nextCursor === "string") {
      const next = new URL(url.pathname + url.search, "http://next");
      next.searchParams.set(cursorParam, data.nextCursor);
      c.header("link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return answer(c, route.route.path, rootElementOf(route.route.path, status === 201), data ?? null, status);
  } catch (error) {
    return errorAnswer(c, services, route, error, input, versionInHeader);
  }
}

/** Hono's form of a `{name}` path. */
function honoPath(path: string): string {
  return `/v1${path.replace(/\{(\w+)\}/g, ":$1")}`;
}

/**
 * The REST resources under `/v1`: every procedure with a `meta.openapi` route, served by calling the
 * procedure itself (its validation, permission, rate limit, idempotency and transaction), plus the
 * OpenAPI 3.1 document at `GET /v1/openapi.json`, built once at start.
 */
export function mountRestRoutes(
  app: Hono<Env>,
  services: ApiServices,
  options: { maxBodyBytes: number },
): void {
  const routes = procedureRoutes();
  const document = buildOpenApiDocument(routes);
  app.get("/v1/openapi.json", (c) => c.json(document));

  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) =>
      answer(
        c,
        c.req.path.replace(/^\/v1/, ""),
        "fault",
        {
          message: `request body over ${options.maxBodyBytes} bytes`,
          errors: [{ reason: ErrorReason.payloadTooLarge, field: null }],
        },
        413,
      ),
  });
  // Fixed paths before `{id}` ones of the same shape (`/contacts/by-external-id/x` before `/contacts/{id}/history`).
  const ordered = [...routes].sort(
    (a, b) => Number(b.route.path.includes("/by-")) - Number(a.route.path.includes("/by-")),
  );
  for (const route of ordered) {
    app.on(route.route.method, honoPath(route.route.path), limit, (c) => serve(c, services, route));
  }
  // Mounted after the CSV routes: anything else under /v1 is a 404 in the same error body.
  app.all("/v1/*", (c) =>
    c.json({ message: "no such route", errors: [{ reason: ErrorReason.notFound, field: null }] }, 404),
  );
}
