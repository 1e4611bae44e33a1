import { randomUUID } from "node:crypto";

import { trpcServer } from "@hono/trpc-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import { loggableError } from "@contacts/db/loggable-error";

import { mountExportRoutes } from "../exports/exports.routes.js";
import { mountImportRoutes } from "../imports/imports.routes.js";
import { mountDocsRoutes } from "../rest/docs.routes.js";
import { mountRestRoutes } from "../rest/rest.routes.js";
import type { Logger } from "../logger.js";
import { appRouter } from "../router.js";
import type { ApiServices } from "../services.js";
import { bearerFrom, createInnerContext } from "../trpc/context.js";

export interface AppOptions {
  services: ApiServices;
  maxBodyBytes: number;
  maxBatchSize: number;
  /** Named in an `X-Api-Process` header of every answer when several API processes serve (their number). */
  processTag?: string;
}

/** A tRPC-shaped error body, so the typed client reads errors raised before tRPC runs the same way. */
function trpcErrorBody(
  code: string,
  jsonRpcCode: number,
  httpStatus: number,
  reason: string,
  message: string,
) {
  return {
    error: { message, code: jsonRpcCode, data: { code, httpStatus, errors: [{ reason, field: null }] } },
  };
}

/**
 * The HTTP surface: `/health`, the tRPC API at `/trpc`, and the CSV routes under `/v1` (import
 * upload and failed-rows report, contacts export), which stream bodies tRPC would buffer.
 */
export function createApp({
  services,
  maxBodyBytes,
  maxBatchSize,
  processTag,
}: AppOptions): Hono<{ Variables: { requestId: string } }> {
  const { orm, log } = services;
  const app = new Hono<{ Variables: { requestId: string } }>();

  app.use("*", async (c, next) => {
    // The request id is the server's own (it is recorded in audit rows); a caller's X-Request-Id
    // is logged beside it for correlation.
    const requestId = randomUUID();
    const clientRequestId = c.req.header("x-request-id")?.slice(0, 100);
    c.set("requestId", requestId);
    const started = performance.now();
    await next();
    // Set on the response the handler returned (the tRPC adapter builds its own Response, which a
    // header set on the context before `next()` does not reach).
    c.res.headers.set("x-request-id", requestId);
    if (processTag) c.res.headers.set("x-api-process", processTag);
    // Only the route and the procedure names: never bodies, query strings or headers (they carry PII).
    log.info(
      {
        requestId,
        ...(clientRequestId ? { clientRequestId } : {}),
        method: c.req.method,
        route: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      "request",
    );
  });

  app.get("/health", async (c) => {
    try {
      await orm.em.getConnection().execute("select 1");
      return c.json({ status: "ok" });
    } catch {
      return c.json({ status: "unavailable" }, 503);
    }
  });

  const limitBody = bodyLimit({
    maxSize: maxBodyBytes,
    onError: (c) =>
      c.json(
        trpcErrorBody(
          "PAYLOAD_TOO_LARGE",
          -32013,
          413,
          ErrorReason.payloadTooLarge,
          `request body over ${maxBodyBytes} bytes`,
        ),
        413,
      ),
  });
  // Only requests that carry a body: asking a GET for one would build a whole fetch Request for it.
  app.on(["POST", "PUT", "PATCH", "DELETE"], "/trpc/*", limitBody);

  app.use(
    "/trpc/*",
    trpcServer({
      endpoint: "/trpc",
      router: appRouter,
      allowBatching: true,
      // A query whose input is too long for a URL may come as POST (the typed client does so).
      allowMethodOverride: true,
      maxBatchSize,
      createContext: (opts, c) => {
        const requestId = (c.get("requestId") as string | undefined) ?? randomUUID();
        return createInnerContext(services, {
          requestId,
          bearerToken: bearerFrom(opts.req.headers.get("authorization")),
          tenantHeader: opts.req.headers.get("x-tenant-id")?.trim() || null,
          idempotencyKeyHeader: opts.req.headers.get("idempotency-key"),
          batched: opts.info.isBatchCall,
        }) as unknown as Record<string, unknown>;
      },
      // A rate-limited call tells the client when to come back (the longest wait in a batch).
      // A batch's wait covers every refused call in it, not just the first.
      responseMeta: ({ errors }) => {
        const limited = errors.flatMap((e) =>
          e.cause instanceof ContactsError && e.cause.details?.retryAfterSeconds !== undefined
            ? [
                {
                  wait: Number(e.cause.details.retryAfterSeconds),
                  perCall: Number(e.cause.details.secondsPerCall ?? 0),
                },
              ]
            : [],
        );
        if (limited.length === 0) return {};
        const first = Math.max(...limited.map((l) => l.wait));
        const perCall = Math.max(...limited.map((l) => l.perCall));
        const wait = Math.ceil(first + (limited.length - 1) * perCall);
        return { headers: new Headers({ "retry-after": String(wait) }) };
      },
      onError: ({ error, path, ctx }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") {
          // The stack and class name help; the message of a driver error may quote data, so it is left out.
          const cause = error.cause;
          (ctx as { log?: Logger } | undefined)?.log?.error(
            { path, ...loggableError(cause) },
            "procedure failed",
          );
        }
      },
    }),
  );

  mountImportRoutes(app, services);
  mountExportRoutes(app, services);
  mountRestRoutes(app, services, { maxBodyBytes });
  mountDocsRoutes(app);

  app.notFound((c) =>
    c.json(trpcErrorBody("NOT_FOUND", -32004, 404, ErrorReason.notFound, "no such route"), 404),
  );
  app.onError((error, c) => {
    log.error({ requestId: c.get("requestId"), ...loggableError(error) }, "unhandled error");
    return c.json(
      trpcErrorBody("INTERNAL_SERVER_ERROR", -32603, 500, ErrorReason.internal, "internal error"),
      500,
    );
  });

  return app;
}
