import type { EntityManager } from "@mikro-orm/postgresql";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type {
  ContactChangesInput,
  ContactEvent,
  ContactEventType,
  ContactHistoryInput,
} from "@contacts/domain/events";
import type { JsonPatchOperation } from "@contacts/domain/patch";

import { decodeCursor, encodeCursor } from "@contacts/contacts/cursor";
import { eventPatch } from "@contacts/contacts/events";

/** A change to record; `before` / `after` are the contact's public documents (null: none). */
export interface ContactEventInput {
  tenantId: string;
  contactId: string;
  type: ContactEventType;
  /** The contact's version after the change (for `deleted`: the version that was deleted). */
  version: number;
  before: object | null;
  after: object | null;
  /** Extra detail, e.g. `{ sourceIds }` of a merge. */
  data?: Record<string, unknown>;
  /** The caller's principal subject, as recorded in `updatedBy`. */
  actor: string;
}

/**
 * Records a change event in the caller's transaction (so it commits or rolls back with the change).
 * Call it after the change is flushed: the contact's row lock then orders its events by `seq`.
 */
export async function recordContactEvent(em: EntityManager, event: ContactEventInput): Promise<void> {
  const patch = eventPatch(event.before, event.after);
  await em.execute(
    `insert into contact_events (tenant_id, contact_id, type, version, patch, data, actor)
     values (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?)`,
    [
      event.tenantId,
      event.contactId,
      event.type,
      event.version,
      patch ? JSON.stringify(patch) : null,
      event.data ? JSON.stringify(event.data) : null,
      event.actor,
    ],
  );
}

interface EventRow {
  seq: string;
  txid: string;
  contact_id: string;
  type: ContactEventType;
  version: number;
  patch: JsonPatchOperation[] | null;
  data: Record<string, unknown> | null;
  actor: string;
  created_at: Date | string;
}

/**
 * The txid goes out as text (xid8 is 64-bit). An `order by` must name the table's column
 * (`contact_events.txid`): a bare `txid` there means this output alias, and sorts as text
 * ("1000" before "786").
 */
const COLUMNS = "seq, txid::text as txid, contact_id, type, version, patch, data, actor, created_at";

function eventFromRow(row: EventRow): ContactEvent {
  return {
    seq: Number(row.seq),
    type: row.type,
    contactId: row.contact_id,
    version: row.version,
    patch: row.patch,
    data: row.data,
    actor: row.actor,
    at: new Date(row.created_at).toISOString(),
  };
}

const isHistoryCursor = (v: Record<string, unknown>): v is { seq: number } =>
  Object.keys(v).length === 1 && Number.isSafeInteger(v.seq) && (v.seq as number) >= 0;

/**
 * One page of a contact's events, oldest first. Events outlive the contact (a deleted contact's
 * history stays readable for the retention window); an id with neither events nor a contact is a 404.
 */
export async function contactHistory(
  em: EntityManager,
  tenantId: string,
  input: ContactHistoryInput,
): Promise<{ items: ContactEvent[]; nextCursor: string | null }> {
  const after = input.cursor
    ? decodeCursor(input.cursor, `contacts.history:${tenantId}:${input.id}`, isHistoryCursor).seq
    : 0;
  const rows = await em.execute<EventRow[]>(
    `select ${COLUMNS} from contact_events
      where tenant_id = ? and contact_id = ? and seq > ? order by seq limit ?`,
    [tenantId, input.id, after, input.limit + 1],
  );
  if (rows.length === 0 && !input.cursor) {
    const [known] = await em.execute<{ n: number }[]>(
      "select 1 as n from contacts where tenant_id = ? and id = ? limit 1",
      [tenantId, input.id],
    );
    if (!known) throw ContactsError.notFound("id");
  }
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(eventFromRow),
    nextCursor:
      rows.length > input.limit && last
        ? encodeCursor({ seq: Number(last.seq) }, `contacts.history:${tenantId}:${input.id}`)
        : null,
  };
}

/** A feed position: the (txid, seq) of the last event a consumer has. */
interface FeedPosition extends Record<string, string | number> {
  txid: string;
  seq: number;
}

const isFeedCursor = (v: Record<string, unknown>): v is FeedPosition =>
  Object.keys(v).length === 2 &&
  typeof v.txid === "string" &&
  /^\d{1,20}$/.test(v.txid) &&
  Number.isSafeInteger(v.seq) &&
  (v.seq as number) >= 0;

/** Like any list's cursor, but the feed's input is named `since`. */
function decodeFeedCursor(since: string, tenantId: string): FeedPosition {
  try {
    return decodeCursor(since, `contacts.changes:${tenantId}`, isFeedCursor);
  } catch {
    throw ContactsError.invalid([
      { reason: ErrorReason.invalid, field: "since", message: "not a cursor of the change feed" },
    ]);
  }
}

function resyncRequired(): ContactsError {
  return ContactsError.conflict(ErrorReason.resyncRequired, "since", {
    hint: "events after this cursor were deleted by retention: resync (read the contacts again with contacts.search), then follow contacts.changes without since",
  });
}

/**
 * One page of the tenant's change feed after `since`, in commit order, never passing over an event.
 *
 * Sequence numbers are handed out when a row is inserted, not when its transaction commits: a reader
 * paging by `seq` alone could see 11 (committed) while 10 is still in flight, move its cursor past
 * 10, and never see it. So each event also stores its transaction's id (`txid`, xid8: 64-bit, handed
 * out in increasing order and never reused), and the feed only shows events whose transaction is
 * older than the oldest transaction still running (`pg_snapshot_xmin` of the query's snapshot):
 * those transactions have all ended, and their events are all visible to the query. The order is
 * (txid, seq) and the cursor is the last (txid, seq) returned. Any event the feed shows later has
 * a txid at or above the xmin of every earlier read (a transaction below it had ended, and new
 * transactions get higher ids), hence above every cursor handed out; so it sorts after them. The price
 * is latency: a long-running writing transaction (in any tenant) holds the feed back until it ends.
 *
 * `nextCursor` is always set (the last event's position, else where this read started), so a
 * consumer keeps polling with it. A `since` before the last position retention deleted is a 409
 * `resync_required`: events after it are gone.
 */
export async function contactChanges(
  em: EntityManager,
  tenantId: string,
  input: ContactChangesInput,
): Promise<{ items: ContactEvent[]; nextCursor: string }> {
  const since = input.since ? decodeFeedCursor(input.since, tenantId) : null;
  const [tenant] = await em.execute<{ txid: string | null; seq: string | null; expired: boolean | null }[]>(
    `select events_pruned_txid::text as txid, events_pruned_seq as seq,
            (?::xid8, ?::bigint) < (events_pruned_txid, events_pruned_seq) as expired
       from tenants where id = ?`,
    [since?.txid ?? "0", since?.seq ?? 0, tenantId],
  );
  if (since && tenant?.expired) throw resyncRequired();
  const start: FeedPosition = since ?? { txid: tenant?.txid ?? "0", seq: Number(tenant?.seq ?? 0) };
  const rows = await em.execute<EventRow[]>(
    `select ${COLUMNS} from contact_events
      where tenant_id = ? and (txid, seq) > (?::xid8, ?::bigint)
        and txid < (select pg_snapshot_xmin(pg_current_snapshot()))
      order by contact_events.txid, contact_events.seq limit ?`,
    [tenantId, start.txid, start.seq, input.limit],
  );
  const last = rows.at(-1);
  const next: FeedPosition = last ? { txid: last.txid, seq: Number(last.seq) } : start;
  return { items: rows.map(eventFromRow), nextCursor: encodeCursor(next, `contacts.changes:${tenantId}`) };
}
