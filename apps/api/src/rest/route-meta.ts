import type { ZodType } from "zod";

/** The HTTP methods a REST route may use. */
export type RestMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * How one procedure is served as a REST resource under `/v1` (rest.routes.ts serves it,
 * openapi.ts describes it). The procedure stays the one implementation: the route only says where
 * its input comes from and how its answer is shaped.
 */
export interface RestRoute {
  method: RestMethod;
  /** Under `/v1`, with `{name}` path parameters that are keys of the procedure's input. */
  path: string;
  /** Defaults to the procedure's path in camel case (`contacts.get` is `contactsGet`). */
  operationId?: string;
  summary: string;
  description?: string;
  /** 200 by default; 201 for a create (with `location`), 204 for a delete (no body). */
  status?: 200 | 201 | 204;
  /**
   * The input key the request body is (`contact` for a create: the body is the contact). Without
   * it, a body's members are the input's keys.
   */
  body?: string;
  /** The body's media type: `application/json` unless named. */
  contentType?: "application/json-patch+json";
  /** `If-Match: "<version>"` is the input's `expectedVersion` (a stale one is a 412). */
  ifMatch?: boolean;
  /** The answer's `version` is sent as `ETag: "<version>"`. */
  etag?: boolean;
  /** A create's `Location`, under `/v1`: `{name}` filled from the answer, then the input. */
  location?: string;
  /** A paged answer (`nextCursor`) gets `Link: <...>; rel="next"` with this query parameter. */
  cursorParam?: "cursor" | "since";
  /** Input keys the route does not take (another route of the same procedure does). */
  omit?: string[];
  /** The success answer's body, for the document (the procedures declare no output schema). */
  response?: ZodType;
  /** Called with a platform service token only (JWT), never with a tenant's API key. */
  platform?: boolean;
}

/** The meta every procedure may carry: its REST route(s). */
export interface RouteMeta {
  openapi?: RestRoute | RestRoute[];
}
