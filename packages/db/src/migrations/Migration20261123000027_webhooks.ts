import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tenant tables this migration adds (row-level security forced, as on the access-control ones). */
export const WEBHOOK_TENANT_TABLES = [
  "webhook_endpoints",
  "webhook_deliveries",
  "webhook_import_txids",
] as const;

const TENANT = "current_setting('app.tenant_id', true)";

/**
 * Webhooks from the change feed (issue 21 part 3):
 * - `webhook_endpoints`: a tenant's subscriptions (URL, event types, how import chunks are sent),
 *   the signing secret encrypted (never stored or logged in clear), and the endpoint's position in
 *   the change feed (`cursor_txid`, `cursor_seq`: the feed's own (txid, seq) order, see
 *   contact-events.ts), from which the worker turns new events into deliveries;
 * - `webhook_deliveries`: one message to one endpoint, with its Standard Webhooks message id (the
 *   `webhook-id` a receiver dedupes on: the same on every attempt and on a replay), the payload,
 *   the contacts it is about (deliveries sharing a contact go out in `seq` order), status, attempts,
 *   next attempt and last error, and the lease of the worker attempting it;
 * - `webhook_import_txids`: the transactions that committed an import chunk, recorded by a trigger
 *   on the import's checkpoint (the chunk moves it in the chunk's own transaction), so the worker
 *   sends such a transaction's events as one summary event without the contact writer knowing.
 * Every key and reference leads with `tenant_id` (distributable by tenant on Citus).
 */
export class Migration20261123000027Webhooks extends Migration {
  override up(): void {
    this.addSql(`
      create table webhook_endpoints (
        tenant_id text not null references tenants (id) on delete cascade,
        id uuid not null,
        url text not null,
        description text,
        events text[] not null,
        import_events text not null default 'summary' check (import_events in ('summary', 'records')),
        secret_ciphertext text not null,
        status text not null default 'enabled' check (status in ('enabled', 'disabled')),
        disabled_reason text,
        disabled_at timestamptz,
        failing_since timestamptz,
        cursor_txid xid8 not null,
        cursor_seq bigint not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id)
      );

      create table webhook_deliveries (
        tenant_id text not null,
        endpoint_id uuid not null,
        id uuid not null,
        seq bigint generated always as identity,
        message_id text not null,
        event_type text not null,
        contact_ids uuid[] not null default '{}',
        payload jsonb not null,
        status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
        attempts int not null default 0,
        next_attempt_at timestamptz not null default now(),
        claimed_until timestamptz,
        last_attempt_at timestamptz,
        last_status_code int,
        last_error text,
        replay_of uuid,
        created_at timestamptz not null default now(),
        delivered_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, endpoint_id) references webhook_endpoints (tenant_id, id) on delete cascade
      );
      create index webhook_deliveries_endpoint_idx on webhook_deliveries (tenant_id, endpoint_id, seq);
      create index webhook_deliveries_pending_idx on webhook_deliveries (tenant_id, endpoint_id, seq)
        where status = 'pending';
      create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';

      create table webhook_import_txids (
        tenant_id text not null,
        txid xid8 not null,
        import_id uuid not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, txid),
        foreign key (tenant_id, import_id) references imports (tenant_id, id) on delete cascade
      );

      create function webhook_import_chunk_committed() returns trigger language plpgsql as $fn$
      begin
        insert into webhook_import_txids (tenant_id, txid, import_id)
          values (new.tenant_id, pg_current_xact_id(), new.id)
          on conflict (tenant_id, txid) do nothing;
        return null;
      end $fn$;
      create trigger imports_chunk_committed after update of checkpoint on imports
        for each row when (new.checkpoint is distinct from old.checkpoint)
        execute function webhook_import_chunk_committed();

      alter table webhook_endpoints enable row level security;
      alter table webhook_endpoints force row level security;
      create policy tenant_isolation on webhook_endpoints
        using (tenant_id = ${TENANT}) with check (tenant_id = ${TENANT});
      alter table webhook_deliveries enable row level security;
      alter table webhook_deliveries force row level security;
      create policy tenant_isolation on webhook_deliveries
        using (tenant_id = ${TENANT}) with check (tenant_id = ${TENANT});
      alter table webhook_import_txids enable row level security;
      alter table webhook_import_txids force row level security;
      create policy tenant_isolation on webhook_import_txids
        using (tenant_id = ${TENANT}) with check (tenant_id = ${TENANT});

      grant select, insert, update, delete on webhook_endpoints to ${APP_ROLE};
      grant select, insert, update, delete on webhook_deliveries to ${APP_ROLE};
      grant select, insert, delete on webhook_import_txids to ${APP_ROLE};
    `);
  }

  override down(): void {
    this.addSql(`
      drop trigger imports_chunk_committed on imports;
      drop function webhook_import_chunk_committed();
      drop table webhook_import_txids;
      drop table webhook_deliveries;
      drop table webhook_endpoints;
    `);
  }
}
