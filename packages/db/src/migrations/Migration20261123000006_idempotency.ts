import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tenant tables this migration adds (row-level security forced, as on the access-control ones). */
export const IDEMPOTENCY_TENANT_TABLES = ["idempotency_keys"] as const;

/** The tenant a transaction works for; set with `set_config('app.tenant_id', $1, true)`. */
const TENANT = "current_setting('app.tenant_id', true)";

/**
 * `Idempotency-Key` on mutations: one row per (tenant, caller, key) holding the fingerprint of the
 * first call (SHA-256 of procedure path and canonical input), whether it is still running, and its
 * result once it committed (`json`, not `jsonb`, so a replay is byte for byte the first answer).
 * Rows expire after 24 hours. Expired rows of every tenant are purged by
 * `purge_expired_idempotency_keys()`: a DELETE-only policy lets the application delete rows that
 * have expired without seeing any (a DELETE without WHERE reads no row, so the SELECT policy,
 * tenant-bound, is not consulted).
 */
export class Migration20261123000006Idempotency extends Migration {
  override up(): void {
    this.addSql(`
      create table idempotency_keys (
        tenant_id text not null references tenants (id) on delete cascade,
        caller text not null,
        key text collate "C" not null,
        fingerprint text not null,
        claim_id uuid not null,
        state text not null check (state in ('running', 'completed')),
        response json,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        primary key (tenant_id, caller, key)
      );
      create index idempotency_keys_expires_idx on idempotency_keys (expires_at);
      alter table idempotency_keys enable row level security;
      alter table idempotency_keys force row level security;
      create policy tenant_isolation on idempotency_keys
        using (tenant_id = ${TENANT}) with check (tenant_id = ${TENANT});
      create policy expired_purge on idempotency_keys for delete to ${APP_ROLE}
        using (expires_at <= now());
      grant select, insert, update, delete on idempotency_keys to ${APP_ROLE};

      -- Deletes every tenant's expired keys. Refuses to run bound to a tenant: there the tenant
      -- policy would let the unfiltered DELETE remove that tenant's live keys too.
      create function purge_expired_idempotency_keys() returns void language plpgsql as $fn$
      begin
        if coalesce(${TENANT}, '') <> '' then
          raise exception 'purge_expired_idempotency_keys() must run outside a tenant transaction';
        end if;
        delete from idempotency_keys;
      end $fn$;
    `);
  }

  override down(): void {
    this.addSql(`
      drop function purge_expired_idempotency_keys();
      drop table idempotency_keys;
    `);
  }
}
