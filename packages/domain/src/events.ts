import { z } from "zod";

import { Id, PageInput } from "./common.js";
import type { JsonPatchOperation } from "./patch.js";

/** What happened to a contact. */
export const ContactEventType = z.enum(["created", "updated", "merged", "deleted"]);
export type ContactEventType = z.infer<typeof ContactEventType>;

/** `contacts.history`: one contact's events, oldest first, cursor paged (`nextCursor` null at the end). */
export const ContactHistoryInput = z.strictObject({
  ...PageInput.shape,
  id: Id,
});
export type ContactHistoryInput = z.infer<typeof ContactHistoryInput>;

/**
 * `contacts.changes`: the tenant's events in commit order after `since` (a `nextCursor` of an
 * earlier page; omitted: from the oldest retained event). `nextCursor` is always set, so a consumer
 * polls with it; a page shorter than `limit` means the consumer has caught up for now.
 */
export const ContactChangesInput = z.strictObject({
  since: PageInput.shape.cursor,
  limit: PageInput.shape.limit,
});
export type ContactChangesInput = z.infer<typeof ContactChangesInput>;

/**
 * One change event as the API returns it. `patch` is the RFC 6902 diff of the contact's public
 * document (tax ID always masked, whoever reads), from `{}` for `created`, null for `deleted`;
 * `data` carries extra detail (for `merged`: the merged source ids); `actor` is the caller's
 * principal, as in `updatedBy`; `seq` is unique in the tenant and increasing per contact.
 */
export interface ContactEvent {
  seq: number;
  type: ContactEventType;
  contactId: string;
  version: number;
  patch: JsonPatchOperation[] | null;
  data: Record<string, unknown> | null;
  actor: string;
  at: string;
}
