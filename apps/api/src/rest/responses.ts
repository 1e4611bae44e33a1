import { z } from "zod";
import { Id } from "@contacts/domain/common";
import { ContactEventType } from "@contacts/domain/events";

/*
 * The answers' shapes as the OpenAPI document shows them. The procedures declare no output schema
 * (their DTO functions choose the fields), so these name the members every caller relies on and
 * leave the object open: a schema stricter than the DTO would be a second definition that drifts.
 */

const Version = z.number().int().min(1).meta({ description: "Starts at 1, +1 on every change; the ETag." });

export const ContactResponse = z
  .looseObject({
    id: Id.optional(),
    number: z.number().int().min(1).optional(),
    version: Version.optional(),
    subtype: z.enum(["person", "company"]).optional(),
  })
  .meta({
    id: "Contact",
    description:
      "A contact as the caller may see it: the tax ID masked unless the caller may unmask it; with `fields`, only those.",
  });

export const AccountResponse = z
  .looseObject({ id: Id, version: Version, type: z.string(), key: z.string(), name: z.string() })
  .meta({ id: "Account" });

export const ChannelResponse = z.looseObject({ id: Id, label: z.string() }).meta({ id: "Channel" });

export const RoleResponse = z.looseObject({ code: z.string() }).meta({ id: "Role" });

export const ImportResponse = z.looseObject({ id: Id, state: z.string() }).meta({ id: "Import" });

export const ContactEventResponse = z
  .looseObject({ contactId: Id, type: ContactEventType })
  .meta({ id: "ContactEvent" });

export const ApiKeyResponse = z.looseObject({ id: Id, name: z.string() }).meta({ id: "ApiKey" });

export const TenantResponse = z.looseObject({ id: z.string(), name: z.string() }).meta({ id: "Tenant" });

/** Any JSON object (an answer whose members the procedure's DTO defines). */
export const ObjectResponse = z.looseObject({});

/** One page of a cursor-paged list; `nextCursor` is null on the last page. */
export function pageOf(item: z.ZodType, nextCursorAlwaysSet = false) {
  return z.looseObject({
    items: z.array(item),
    nextCursor: nextCursorAlwaysSet ? z.string() : z.string().nullable(),
  });
}
