import { maskLast4 } from "@contacts/domain/masking";
import { diffDocuments } from "@contacts/domain/patch";
import type { JsonPatchOperation, JsonValue } from "@contacts/domain/patch";

/** A document as stored in an event: plain JSON, its tax ID masked even if the caller passed it in clear. */
function storedDocument(doc: object): JsonValue {
  const json = JSON.parse(JSON.stringify(doc)) as Record<string, JsonValue>;
  if (typeof json.taxId === "string") json.taxId = maskLast4(json.taxId);
  return json;
}

/**
 * A change event's JSON Patch: for a new contact one `add` of the whole document at the root (the
 * writer builds that one in SQL, `createdPatchSql`), for a change the diff from `before` to `after`,
 * none when `after` is null (deleted).
 */
export function eventPatch(before: object | null, after: object | null): JsonPatchOperation[] | null {
  if (!after) return null;
  if (!before) return [{ op: "add", path: "", value: storedDocument(after) }];
  return diffDocuments(storedDocument(before), storedDocument(after));
}
