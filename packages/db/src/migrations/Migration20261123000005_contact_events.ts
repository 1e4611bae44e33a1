import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tenant tables this migration adds (row-level security forced, as on the access-control ones). */
export const EVENT_TENANT_TABLES = ["contact_events"] as const;

/**
 * The change feed and history of contacts:
 * - one row per change (created, updated, merged, deleted), written in the changing transaction, with
 *   the JSON Patch of the public document (tax ID masked) and the writing transaction's id (`txid`):
 *   the feed orders by (txid, seq) and shows only transactions older than every running one, so an
 *   event that commits late is never passed over (see apps/api/src/events/contact-events.ts);
 * - append-only for the application (select and insert); retention deletes run as the owner
 *   (`pruneContactEvents`) and record, per tenant, the feed position they deleted up to, so a cursor
 *   from before it is told to resync instead of silently missing events.
 */
export class Migration20261123000005ContactEvents extends Migration {
  override up(): void {
    this.addSql(`
      create table contact_events (
        tenant_id text not null references tenants (id) on delete cascade,
        seq bigint generated always as identity,
        txid xid8 not null default pg_current_xact_id(),
        contact_id uuid not null,
        type text not null check (type in ('created', 'updated', 'merged', 'deleted')),
        version int not null,
        patch jsonb,
        data jsonb,
        actor text not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, seq)
      );
      create index contact_events_contact_idx on contact_events (tenant_id, contact_id, seq);
      create index contact_events_feed_idx on contact_events (tenant_id, txid, seq);
      create index contact_events_created_idx on contact_events (created_at);
      alter table contact_events enable row level security;
      alter table contact_events force row level security;
      create policy tenant_isolation on contact_events
        using (tenant_id = current_setting('app.tenant_id', true))
        with check (tenant_id = current_setting('app.tenant_id', true));
      grant select, insert on contact_events to ${APP_ROLE};

      -- The last feed position (txid, seq) retention deleted; null while nothing was deleted.
      alter table tenants add column events_pruned_txid xid8, add column events_pruned_seq bigint;
    `);
  }

  override down(): void {
    this.addSql(`
      alter table tenants drop column events_pruned_txid, drop column events_pruned_seq;
      drop table contact_events;
    `);
  }
}
