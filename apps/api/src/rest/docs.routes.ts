import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

import { Scalar } from "@scalar/hono-api-reference";
import type { Hono } from "hono";

/** Where the page loads Scalar's browser bundle from: this API, not a CDN. */
export const DOCS_SCRIPT_PATH = "/docs/scalar.js";

const require = createRequire(import.meta.url);

/**
 * The API reference page at `GET /docs` (Scalar), reading `GET /v1/openapi.json`, with "try it"
 * requests sent to the server that serves the page. No credential: the document and the page are
 * public, the requests a reader sends carry the key they type in.
 */
export function mountDocsRoutes(app: Hono<{ Variables: { requestId: string } }>): void {
  let bundle: Promise<string> | undefined;
  app.get(DOCS_SCRIPT_PATH, async (c) => {
    // Read on first use (3.5 MB), then kept.
    bundle ??= readFile(require.resolve("@scalar/api-reference/browser/standalone.js"), "utf8");
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "public, max-age=3600");
    return c.body(await bundle);
  });
  app.get(
    "/docs",
    Scalar({
      url: "/v1/openapi.json",
      cdn: DOCS_SCRIPT_PATH,
      pageTitle: "Contacts API reference",
      // Nothing from other hosts: no web fonts, no Scalar-hosted services.
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      showDeveloperTools: "never",
      // The API key scheme is the one "try it" asks for first.
      authentication: { preferredSecurityScheme: "apiKey" },
    }),
  );
}
