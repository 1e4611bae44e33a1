import { z } from "zod";
import { createDocument } from "zod-openapi";
import type {
  ZodOpenApiContentObject,
  ZodOpenApiOperationObject,
  ZodOpenApiPathsObject,
  ZodOpenApiResponseObject,
} from "zod-openapi";
import { ErrorReason } from "@contacts/domain/errors";
import { ImportOptions } from "@contacts/domain/import-job";

import { ObjectResponse } from "./responses.js";
import type { ProcedureRoute } from "./rest-routes.js";
import { jsonToXml, rootElementOf } from "./xml.js";

type Schema = z.ZodType;

/** The body of every error on `/v1`. */
const ErrorBody = z
  .looseObject({
    message: z.string(),
    errors: z
      .array(
        z.looseObject({
          reason: z.enum(Object.values(ErrorReason) as [string, ...string[]]),
          field: z.string().nullable().meta({ description: "A dotted path into the request, or null." }),
        }),
      )
      .min(1),
    details: z.looseObject({}).optional(),
  })
  .meta({ id: "Errors" });

type Security = Record<string, string[]>[];
const TENANT_SECURITY: Security = [{ apiKey: [] }, { jwt: [] }];
const PLATFORM_SECURITY: Security = [{ jwt: [] }];

const RetryAfter = z.string().meta({ description: "Seconds to wait before the next call." });

function errorResponse(id: string, description: string, headers?: z.ZodObject): ZodOpenApiResponseObject {
  return {
    id,
    description,
    ...(headers ? { headers } : {}),
    content: { "application/json": { schema: ErrorBody } },
  };
}

const ERRORS = {
  400: errorResponse("BadRequest", "Invalid input: each error names its field and reason."),
  401: errorResponse("Unauthorized", "No bearer token, or one that is not valid."),
  403: errorResponse("Forbidden", "The credential lacks the permission."),
  404: errorResponse(
    "NotFound",
    "No such record in the caller's tenant (another tenant's is not found either).",
  ),
  409: errorResponse("Conflict", "Referenced, locked, duplicate, or an Idempotency-Key still running."),
  412: errorResponse("PreconditionFailed", "`If-Match` names a version that is not the current one."),
  413: errorResponse("PayloadTooLarge", "The request body is over the size limit."),
  415: errorResponse("UnsupportedMediaType", "The body is not of the media type the route takes."),
  422: errorResponse("UnprocessableContent", "The Idempotency-Key was used with another request."),
  429: errorResponse(
    "TooManyRequests",
    "The tenant's rate limit or a tenant limit.",
    z.object({ "Retry-After": RetryAfter }),
  ),
  500: errorResponse("InternalError", "A bug (reported as such, never a data leak)."),
  503: errorResponse("Unavailable", "The query ran past the statement timeout; narrow the filters or retry."),
} as const;

const ETag = z.string().meta({ description: 'The version of the answer, as `"<version>"`.', example: '"1"' });
const Location = z
  .string()
  .meta({ description: "Where the created resource is read.", example: "/v1/contacts/…" });
const Link = z.string().meta({
  description: 'The next page: `<url>; rel="next"` (absent on the last page).',
  example: '</v1/contacts?cursor=abc>; rel="next"',
});

const IfMatch = z.string().meta({
  description: 'The version the change expects, as `"<version>"` (the ETag of a read).',
  example: '"1"',
});
const IdempotencyKey = z.string().min(1).max(200).meta({
  description: "Makes a retried mutation answer with the first call's result instead of running again.",
});
const TenantHeader = z
  .string()
  .meta({ description: "Which tenant a service token covering several tenants acts in." });

/** An example body from the seeds' contact samples (a Rackspace customer contact). */
const CONTACT_EXAMPLE = {
  subtype: "person",
  firstName: "Jane",
  lastName: "Doe",
  jobTitle: "Director of IT",
  roles: ["PRIMARY"],
  emails: [{ address: "jane.doe@example.com", label: "work", primary: true }],
  phones: [{ number: "+1 210 555 0100", label: "work", primary: true }],
};

/** Strips `.optional()` (a path parameter is always there). */
function required(schema: Schema): Schema {
  return schema instanceof z.ZodOptional ? (schema.unwrap() as Schema) : schema;
}

function objectOf(shape: Record<string, Schema>, keys: string[], map: (key: string, s: Schema) => Schema) {
  return z.object(Object.fromEntries(keys.flatMap((k) => (shape[k] ? [[k, map(k, shape[k])]] : []))));
}

/** A query parameter that is an object is sent as `name[member]=value` (deepObject). */
function queryParam(schema: Schema): Schema {
  let base: Schema = schema;
  while (base instanceof z.ZodOptional || base instanceof z.ZodNullable || base instanceof z.ZodDefault) {
    base = base.unwrap() as Schema;
  }
  return base instanceof z.ZodObject
    ? schema.meta({ param: { style: "deepObject", explode: true } })
    : schema;
}

function operationOf(r: ProcedureRoute): ZodOpenApiOperationObject {
  const { route } = r;
  const shape = (r.input?.shape ?? {}) as Record<string, Schema>;
  const status = route.status ?? 200;
  const hasBody = route.method !== "GET" && route.method !== "DELETE";
  const keyed = r.type === "mutation" && !route.platform;

  const header: Record<string, Schema> = {};
  if (!route.platform) header["X-Tenant-Id"] = TenantHeader.optional();
  if (route.ifMatch) header["If-Match"] = IfMatch.optional();
  if (keyed) header["Idempotency-Key"] = IdempotencyKey.optional();

  let body: Schema | null = null;
  if (hasBody && r.input) {
    const bodyMember = route.body ? shape[route.body] : undefined;
    if (bodyMember) {
      body = required(bodyMember);
    } else {
      const skip = new Set([
        ...r.pathParams,
        ...(route.omit ?? []),
        ...(route.ifMatch ? ["expectedVersion"] : []),
      ]);
      const members = Object.entries(shape).filter(([k]) => !skip.has(k));
      if (members.length > 0) body = z.strictObject(Object.fromEntries(members));
    }
  }
  const contentType = route.contentType ?? "application/json";
  const example = route.body === "contact" ? { example: CONTACT_EXAMPLE } : {};

  const successHeaders: Record<string, Schema> = {};
  if (route.etag) successHeaders.ETag = ETag.optional();
  if (route.location) successHeaders.Location = Location;
  if (route.cursorParam) successHeaders.Link = Link.optional();

  const success: ZodOpenApiResponseObject =
    status === 204
      ? { description: "Done; no body." }
      : {
          description: route.summary,
          ...(Object.keys(successHeaders).length > 0 ? { headers: z.object(successHeaders) } : {}),
          content: { "application/json": { schema: route.response ?? ObjectResponse } },
        };

  return {
    operationId: r.operationId,
    "x-trpc-procedure": r.procedure,
    summary: route.summary,
    description: [route.description, `Procedure \`${r.procedure}\`.`].filter(Boolean).join("\n\n"),
    tags: [r.procedure.split(".")[0] ?? "api"],
    security: route.platform ? PLATFORM_SECURITY : TENANT_SECURITY,
    requestParams: {
      path: objectOf(shape, r.pathParams, (_, s) => required(s)),
      query: objectOf(shape, r.queryKeys, (_, s) => queryParam(s)),
      header: z.object(header),
    },
    ...(body
      ? {
          requestBody: {
            required: !body.safeParse(undefined).success,
            content: { [contentType]: { schema: body, ...example } },
          },
        }
      : {}),
    responses: {
      [status]: success,
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      ...(r.type === "mutation" ? { 409: ERRORS[409] } : {}),
      ...(route.ifMatch ? { 412: ERRORS[412] } : {}),
      ...(hasBody ? { 413: ERRORS[413], 415: ERRORS[415] } : {}),
      ...(keyed ? { 422: ERRORS[422] } : {}),
      429: ERRORS[429],
      500: ERRORS[500],
      503: ERRORS[503],
    },
  };
}

const XML_MEDIA = ["application/xml", "text/xml"];
const xmlTwins = new Map<ZodOpenApiResponseObject, ZodOpenApiResponseObject>();

/** `content` with the XML media types beside JSON: the same schema, the example written as XML. */
function addXml(
  content: ZodOpenApiContentObject | undefined,
  root = "fault",
): ZodOpenApiContentObject | undefined {
  const json = content?.["application/json"];
  if (!json) return content;
  const xml = "example" in json ? { ...json, example: jsonToXml(json.example, root) } : json;
  return { ...content, ...Object.fromEntries(XML_MEDIA.map((m) => [m, xml])) };
}

/** A response with the XML media types beside JSON; a shared (component) one gets one twin, one id. */
function xmlTwin(response: ZodOpenApiResponseObject): ZodOpenApiResponseObject {
  if (!response.content) return response;
  const known = xmlTwins.get(response);
  if (known) return known;
  const twin = { ...response, ...(response.id ? { id: `${response.id}Xml` } : {}) };
  twin.content = addXml(response.content);
  if (response.id) xmlTwins.set(response, twin);
  return twin;
}

/** The contact and account resources take and answer XML too (xml.ts); a JSON Patch body stays JSON. */
function withXml(op: ZodOpenApiOperationObject, root: string): ZodOpenApiOperationObject {
  const responses = Object.entries(op.responses).map(([status, r]) => [
    status,
    xmlTwin(r as ZodOpenApiResponseObject),
  ]);
  const body = op.requestBody as { required?: boolean; content: ZodOpenApiContentObject } | undefined;
  return {
    ...op,
    ...(body ? { requestBody: { ...body, content: addXml(body.content, root) ?? body.content } } : {}),
    responses: Object.fromEntries(responses) as ZodOpenApiOperationObject["responses"],
  };
}

/** The CSV routes (imports.routes.ts, exports.routes.ts): plain HTTP, not procedures. */
function csvPaths(): ZodOpenApiPathsObject {
  const security = TENANT_SECURITY;
  const header = z.object({
    "X-Tenant-Id": TenantHeader.optional(),
    "Idempotency-Key": IdempotencyKey.optional(),
  });
  const importQuery = z.object(
    Object.fromEntries(
      Object.entries(ImportOptions.shape).map(([k, s]) => [
        k,
        k === "mapping" ? z.string().optional().meta({ description: 'JSON: `{"CSV header":"field"}`.' }) : s,
      ]),
    ),
  );
  return {
    "/v1/imports": {
      post: {
        operationId: "importsUpload",
        summary: "Upload a CSV file to import",
        description:
          "The raw CSV is the body. The same file with the same options (or the same Idempotency-Key) answers 200 with the import already there.",
        tags: ["imports"],
        security,
        requestParams: { query: importQuery, header },
        requestBody: { required: true, content: { "text/csv": { schema: z.string() } } },
        responses: {
          200: {
            description: "The import already there",
            content: { "application/json": { schema: ObjectResponse } },
          },
          202: {
            description: "The import, queued",
            content: { "application/json": { schema: ObjectResponse } },
          },
          400: ERRORS[400],
          401: ERRORS[401],
          403: ERRORS[403],
          408: errorResponse("RequestTimeout", "The file did not arrive in time."),
          409: ERRORS[409],
          413: ERRORS[413],
          429: ERRORS[429],
          500: ERRORS[500],
        },
      },
    },
    "/v1/imports/{id}/failed-rows.csv": {
      get: {
        operationId: "importsFailedRows",
        summary: "The rows an import rejected, as CSV with the reason",
        tags: ["imports"],
        security,
        requestParams: {
          path: z.object({ id: z.uuid() }),
          header: z.object({ "X-Tenant-Id": TenantHeader.optional() }),
        },
        responses: {
          200: { description: "CSV", content: { "text/csv": { schema: z.string() } } },
          401: ERRORS[401],
          403: ERRORS[403],
          404: ERRORS[404],
          429: ERRORS[429],
          500: ERRORS[500],
        },
      },
    },
    "/v1/exports/contacts.csv": {
      get: {
        operationId: "exportsContacts",
        summary: "The contacts of a search, as CSV",
        tags: ["exports"],
        security,
        requestParams: {
          query: z.object({
            search: z
              .string()
              .optional()
              .meta({ description: "JSON: the filters of `GET /v1/contacts` (no cursor, limit or fields)." }),
          }),
          header: z.object({ "X-Tenant-Id": TenantHeader.optional() }),
        },
        responses: {
          200: { description: "CSV", content: { "text/csv": { schema: z.string() } } },
          400: ERRORS[400],
          401: ERRORS[401],
          403: ERRORS[403],
          429: ERRORS[429],
          500: ERRORS[500],
        },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the REST routes (and the CSV routes beside them). */
export function buildOpenApiDocument(routes: ProcedureRoute[]): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = csvPaths();
  for (const r of routes) {
    const path = `/v1${r.route.path}`;
    const method = r.route.method.toLowerCase() as "get";
    const operation = /^\/(contacts|accounts)(\/|$)/.test(r.route.path)
      ? withXml(operationOf(r), rootElementOf(r.route.path, true))
      : operationOf(r);
    paths[path] = { ...paths[path], [method]: operation };
  }
  return createDocument(
    {
      openapi: "3.1.0",
      info: {
        title: "Contacts API",
        version: "1",
        description:
          'Every tRPC procedure as a REST resource. Errors are `{ errors: [{ reason, field }] }`; lists are cursor paged (`limit`, `cursor`, `Link: rel="next"`); a contact\'s `ETag` is its version and `If-Match` makes a change conditional (412 when stale). The contact and account resources also take and answer `application/xml` (or `text/xml`, by `Accept`): the same JSON value, mapped as the README\'s "XML" section says.',
      },
      servers: [{ url: "/" }],
      paths,
      components: {
        securitySchemes: {
          apiKey: {
            type: "http",
            scheme: "bearer",
            bearerFormat: "API key",
            description: "A tenant API key: `Authorization: Bearer <key>`.",
          },
          jwt: {
            type: "http",
            scheme: "bearer",
            bearerFormat: "JWT",
            description: "A signed service or user token: `Authorization: Bearer <jwt>`.",
          },
        },
      },
    },
    // A few domain schemas refine with transforms (defaults filled in); the document shows their input.
    { allowEmptySchema: { custom: true } },
  );
}
