import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

const TENANT = "current_setting('app.tenant_id', true)";

/**
 * The per-tenant request limit as one budget across every API process: a token bucket per tenant
 * in `tenant_request_buckets`, holding up to one minute's allowance and refilling continuously
 * (the same bucket the single-process limiter keeps in memory).
 *
 * `take_request_tokens(tenant, per_minute, wanted)` refills the tenant's bucket and grants up to
 * `wanted` whole tokens in one statement (the bucket row is locked only for that statement), and
 * answers how many it granted and how many are left. API processes take tokens in small leases
 * and spend them locally, so most calls do not come here (see the API's shared rate limiter).
 *
 * The table is UNLOGGED: a bucket is written by nearly every lease and its history is worthless,
 * so it writes no WAL; after a crash of PostgreSQL the buckets are empty, which means full (every
 * tenant gets one fresh minute's allowance). The application role has no privilege on it: only
 * the function (security definer, searching `pg_temp` last as migration 25 explains) reads and
 * writes it, for the tenant the calling transaction is bound to.
 */
export class Migration20261123000026RequestBuckets extends Migration {
  override up(): void {
    this.addSql(`
      create unlogged table tenant_request_buckets (
        tenant_id text primary key references tenants (id) on delete cascade,
        tokens double precision not null,
        refilled_at timestamptz not null
      ) with (fillfactor = 50);
      alter table tenant_request_buckets enable row level security;
      alter table tenant_request_buckets force row level security;
      create policy tenant_isolation on tenant_request_buckets
        using (tenant_id = ${TENANT}) with check (tenant_id = ${TENANT});

      create function take_request_tokens(p_tenant text, p_per_minute integer, p_wanted integer)
        returns table (granted integer, tokens double precision)
        language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $fn$
      declare
        at timestamptz := clock_timestamp();
        held double precision;
        last timestamptz;
        given integer;
      begin
        if current_setting('app.tenant_id', true) is distinct from p_tenant then
          raise exception 'request tokens outside a session bound to the tenant' using errcode = '42501';
        end if;
        if p_per_minute < 1 or p_wanted < 0 or p_wanted > p_per_minute then
          raise exception 'between 0 and per_minute request tokens at once' using errcode = '22023';
        end if;
        insert into tenant_request_buckets as b (tenant_id, tokens, refilled_at)
          values (p_tenant, p_per_minute, at) on conflict (tenant_id) do nothing;
        select b.tokens, b.refilled_at into held, last
          from tenant_request_buckets b where b.tenant_id = p_tenant for update;
        held := least(p_per_minute::double precision,
                      held + greatest(0, extract(epoch from at - last)) * p_per_minute / 60.0);
        given := least(p_wanted, floor(held)::integer);
        update tenant_request_buckets b set tokens = held - given, refilled_at = at
          where b.tenant_id = p_tenant;
        return query select given, held - given;
      end $fn$;
      revoke all on function take_request_tokens(text, integer, integer) from public;
      grant execute on function take_request_tokens(text, integer, integer) to ${APP_ROLE};
    `);
  }

  override down(): void {
    this.addSql(`
      drop function take_request_tokens(text, integer, integer);
      drop table tenant_request_buckets;
    `);
  }
}
