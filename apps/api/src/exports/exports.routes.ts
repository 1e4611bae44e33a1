import { stringify } from "csv-stringify/sync";
import type { Context, Hono } from "hono";
import { inTenant } from "@contacts/db/tenant-scope";
import { transactionReader } from "@contacts/db/tenant-reads";
import { loggableError } from "@contacts/db/loggable-error";
import { CSV_HEADERS, contactToCsvRecord } from "@contacts/domain/csv-layout";
import { ContactsError, ErrorReason, fieldErrorsFromZod } from "@contacts/domain/errors";
import { ContactSearchInput } from "@contacts/domain/search";
import { tenantLimit } from "@contacts/domain/tenant";
import { unsafeTextError } from "@contacts/domain/text";

import type { Principal } from "../auth/principal.js";
import { ContactViewer } from "../contacts/contact.dto.js";
import { ContactReads } from "../contacts/contact-reads.js";
import { busy, routeError, routePrincipal } from "../http/route-auth.js";
import type { ApiServices } from "../services.js";
import { recordReveals } from "../trpc/init.js";

/** Contacts read per page (each page in its own short transaction). */
const PAGE = 500;

/** The filters and sort of `contacts.search`; paging and the projection are the export's own. */
export const ContactExportFilters = ContactSearchInput.omit({ cursor: true, limit: true, fields: true });

function filtersFrom(query: URLSearchParams) {
  const text = query.get("search");
  let raw: unknown = {};
  if (text) {
    try {
      raw = JSON.parse(text) as unknown;
    } catch {
      throw ContactsError.invalid([{ reason: ErrorReason.invalid, field: "search", message: "not JSON" }]);
    }
  }
  const unsafe = unsafeTextError(raw, "search");
  if (unsafe) throw ContactsError.invalid([unsafe]);
  const parsed = ContactExportFilters.safeParse(raw);
  if (!parsed.success) {
    throw ContactsError.invalid(fieldErrorsFromZod(parsed.error.issues, "search", { input: raw }));
  }
  return parsed.data;
}

/**
 * `GET /v1/exports/contacts.csv?search=<JSON of contacts.search filters>`: every matching contact
 * in the import layout (CSV_HEADERS, UTF-8 with BOM), shown through ContactViewer as search shows
 * them (tax ID masked without `contacts:unmask-tax-id`, and each reveal recorded), every cell
 * neutralized against spreadsheet formulas. Streamed page by page as the client reads (a pull
 * stream: a slow reader holds no transaction and no more than one page).
 */
async function exportContacts(c: Context, services: ApiServices): Promise<Response> {
  let principal: Principal;
  let filters: ReturnType<typeof filtersFrom>;
  try {
    ({ principal, filters } = await services.orm.em.fork().transactional(async (tx) => {
      const found = await routePrincipal(tx, services, c, "contacts:read");
      const wanted = filtersFrom(new URL(c.req.url).searchParams);
      if (wanted.taxId !== undefined && !found.permissions.has("contacts:unmask-tax-id")) {
        throw new ContactsError("FORBIDDEN", [
          {
            reason: ErrorReason.forbidden,
            field: "search.taxId",
            message: "missing permission contacts:unmask-tax-id",
          },
        ]);
      }
      return { principal: found, filters: wanted };
    }));
  } catch (error) {
    return routeError(c, error, services.log);
  }
  const maxExports = tenantLimit(principal.tenantSettings, "exports");
  const release = services.exportSlots.acquire(principal.tenantId, maxExports);
  if (!release)
    return routeError(c, busy(`${maxExports} exports of this tenant are running`, 5), services.log);
  const requestId = String(c.get("requestId") ?? "");
  const viewer = new ContactViewer(principal, services.vault);
  const encoder = new TextEncoder();
  let cursor: string | null = null;
  let started = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          controller.enqueue(encoder.encode(`\uFEFF${stringify([[...CSV_HEADERS]])}`));
          return;
        }
        const records = await inTenant(services.orm.em.fork(), principal.tenantId, async (tx) => {
          const page = await new ContactReads(transactionReader(tx), viewer, services.vault).search({
            ...filters,
            limit: PAGE,
            cursor,
          });
          cursor = page.nextCursor;
          const rows = page.rows.map((row) => contactToCsvRecord(viewer.showAll(row)));
          // The page's reveals commit with the page that showed them.
          await recordReveals(tx, viewer, requestId, "exports.contacts");
          viewer.revealed.clear();
          return rows;
        });
        if (records.length > 0) controller.enqueue(encoder.encode(stringify(records)));
        if (cursor === null) {
          release();
          controller.close();
        }
      } catch (error) {
        release();
        services.log.error(loggableError(error), "contacts export failed");
        controller.error(error);
      }
    },
    // The reader went away (disconnect, abort): the slot is free again.
    cancel() {
      release();
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": 'attachment; filename="contacts.csv"',
    },
  });
}

/** Mounts the export routes. */
export function mountExportRoutes(
  app: Hono<{ Variables: { requestId: string } }>,
  services: ApiServices,
): void {
  app.get("/v1/exports/contacts.csv", (c) => exportContacts(c, services));
}
