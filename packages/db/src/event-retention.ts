import pg from "pg";

/** How long change events are kept by default: long enough for a consumer to survive a long outage. */
export const DEFAULT_EVENT_RETENTION_DAYS = 30;

/**
 * Deletes the change events written before `cutoff`, in feed order: per tenant it finds the last
 * feed position (txid, seq) among the expired events, deletes every event up to it (an event that
 * precedes an expired one in the feed goes with it, even if younger) and records that position on
 * the tenant, where `contacts.changes` reads it to tell a consumer whose cursor is older to resync.
 * Runs as the owner across tenants, so it needs a role that bypasses row-level security (as key
 * rotation does); the application role may not delete events at all.
 */
export async function pruneContactEvents(ownerUrl: string, cutoff: Date): Promise<{ deleted: number }> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const role = await client.query<{ bypass: boolean }>(
      "select rolsuper or rolbypassrls as bypass from pg_roles where rolname = current_user",
    );
    if (!role.rows[0]?.bypass) {
      throw new Error("event retention spans tenants: run it as a role with BYPASSRLS (or the superuser)");
    }
    await client.query("begin");
    try {
      const result = await client.query(
        `with horizon as (
           select distinct on (tenant_id) tenant_id, txid, seq
             from contact_events
            where created_at < $1 and txid < pg_snapshot_xmin(pg_current_snapshot())
            order by tenant_id, txid desc, seq desc
         ), marked as (
           update tenants t set events_pruned_txid = h.txid, events_pruned_seq = h.seq
             from horizon h
            where t.id = h.tenant_id
              and (t.events_pruned_txid is null or (h.txid, h.seq) > (t.events_pruned_txid, t.events_pruned_seq))
         )
         delete from contact_events e using horizon h
          where e.tenant_id = h.tenant_id and (e.txid, e.seq) <= (h.txid, h.seq)`,
        [cutoff],
      );
      await client.query("commit");
      return { deleted: result.rowCount ?? 0 };
    } catch (error) {
      await client.query("rollback");
      throw error;
    }
  } finally {
    await client.end();
  }
}
