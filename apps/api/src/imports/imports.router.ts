import { z } from "zod";
import { Id, PageInput } from "@contacts/domain/common";
import { ImportState } from "@contacts/domain/import-job";

import { procedureWith, router } from "../trpc/init.js";
import { ImportService } from "./import.service.js";
import { ImportResponse, ObjectResponse, pageOf } from "../rest/responses.js";

/**
 * CSV import jobs. The upload itself is `POST /v1/imports` (imports.routes.ts; the typed client's
 * `uploadImport` wraps it). Reading an import, its errors and cancelling it all need `imports:write`:
 * an import's errors quote masked values of the file, and whoever may not import has no reason to
 * watch imports.
 */
export const importsRouter = router({
  get: procedureWith("imports:write")
    .meta({
      openapi: {
        method: "GET",
        path: "/imports/{id}",
        summary: "An import and its progress",
        response: ImportResponse,
      },
    })
    .input(z.strictObject({ id: Id }))
    .query(async ({ ctx, input }) => {
      const imports = new ImportService(ctx.em, ctx.principal.tenantId);
      return imports.view(await imports.get(input.id));
    }),

  /** Newest first. */
  list: procedureWith("imports:write")
    .meta({
      openapi: {
        method: "GET",
        path: "/imports",
        summary: "Imports, newest first",
        cursorParam: "cursor",
        response: pageOf(ImportResponse),
      },
    })
    .input(z.strictObject({ ...PageInput.shape, state: ImportState.optional() }))
    .query(async ({ ctx, input }) => {
      const imports = new ImportService(ctx.em, ctx.principal.tenantId);
      const page = await imports.list(input);
      return {
        items: await Promise.all(page.rows.map((row) => imports.view(row))),
        nextCursor: page.nextCursor,
      };
    }),

  /** Queued: cancelled at once. Running: stops at its next chunk, keeping what it loaded. Finished: 409. */
  cancel: procedureWith("imports:write")
    .meta({
      openapi: {
        method: "POST",
        path: "/imports/{id}/cancel",
        summary: "Cancel an import",
        response: ImportResponse,
      },
    })
    .input(z.strictObject({ id: Id }))
    .mutation(async ({ ctx, input }) => {
      const imports = new ImportService(ctx.em, ctx.principal.tenantId);
      return imports.view(await imports.cancel(input.id));
    }),

  /** The rejected values, in record order (`value` masked when it is personal data). */
  errors: procedureWith("imports:write")
    .meta({
      openapi: {
        method: "GET",
        path: "/imports/{id}/errors",
        summary: "An import's rejected values, in record order",
        cursorParam: "cursor",
        response: pageOf(ObjectResponse),
      },
    })
    .input(z.strictObject({ ...PageInput.shape, id: Id }))
    .query(({ ctx, input }) => new ImportService(ctx.em, ctx.principal.tenantId).errors(input.id, input)),
});
