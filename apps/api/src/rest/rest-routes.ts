import { z } from "zod";
import type { AnyProcedure } from "@trpc/server";

import { appRouter } from "../router.js";
import type { RestRoute, RouteMeta } from "./route-meta.js";

/** One REST route of one procedure, with what the glue and the document need to know of it. */
export interface ProcedureRoute {
  /** The procedure's path in the router (`contacts.get`). */
  procedure: string;
  type: "query" | "mutation";
  route: RestRoute;
  operationId: string;
  /** The procedure's input object (unwrapped from `.optional()`), or null when it takes none. */
  input: z.ZodObject | null;
  /** `{name}` parameters of the path, in order. */
  pathParams: string[];
  /** Input keys taken from the query string. */
  queryKeys: string[];
}

function camelCase(path: string): string {
  return path.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The input object a procedure parses, or null for none. */
function inputObject(procedure: AnyProcedure, path: string): z.ZodObject | null {
  const inputs = (procedure._def as { inputs: unknown[] }).inputs;
  if (inputs.length === 0) return null;
  if (inputs.length > 1) throw new Error(`${path}: a REST route needs a single .input()`);
  let schema = inputs[0];
  while (schema instanceof z.ZodOptional) schema = schema.unwrap();
  if (!(schema instanceof z.ZodObject)) throw new Error(`${path}: a REST route needs an object input`);
  return schema;
}

/** Every procedure of `router` with its routes; a procedure without `meta.openapi` has none. */
export function proceduresOf(router: { _def: { procedures: object } } = appRouter): {
  procedure: string;
  type: string;
  routes: RestRoute[];
}[] {
  return Object.entries(router._def.procedures as Record<string, AnyProcedure>).map(([path, procedure]) => {
    const meta = procedure._def.meta as RouteMeta | undefined;
    const routes = meta?.openapi === undefined ? [] : [meta.openapi].flat();
    return { procedure: path, type: procedure._def.type, routes };
  });
}

/** The REST routes of every procedure of the app, checked against the procedures' inputs. */
export function procedureRoutes(): ProcedureRoute[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
  return proceduresOf().flatMap(({ procedure: path, type, routes }) =>
    routes.map((route): ProcedureRoute => {
      const procedure = procedures[path];
      if (!procedure || (type !== "query" && type !== "mutation")) {
        throw new Error(`${path}: only queries and mutations have REST routes`);
      }
      const input = inputObject(procedure, path);
      const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
      const keys = input ? Object.keys(input.shape) : [];
      for (const name of pathParams) {
        if (!keys.includes(name)) throw new Error(`${path}: path parameter {${name}} is not an input key`);
      }
      if (route.body && !keys.includes(route.body))
        throw new Error(`${path}: body ${route.body} is not an input key`);
      const hasBody = route.method !== "GET" && route.method !== "DELETE";
      const notInQuery = new Set([
        ...pathParams,
        ...(route.omit ?? []),
        ...(route.ifMatch ? ["expectedVersion"] : []),
        ...(route.body ? [route.body] : []),
      ]);
      // A route whose body is the whole input takes nothing from the query string.
      const queryKeys = hasBody && !route.body ? [] : keys.filter((k) => !notInQuery.has(k));
      return {
        procedure: path,
        type,
        route,
        operationId: route.operationId ?? camelCase(path),
        input,
        pathParams,
        queryKeys,
      };
    }),
  );
}
