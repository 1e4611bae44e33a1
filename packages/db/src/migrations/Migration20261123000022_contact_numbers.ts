import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tables holding tenant data that this migration adds (row-level security like the others). */
export const COUNT_TENANT_TABLES = ["tenant_contact_counts"] as const;

const TENANT = "current_setting('app.tenant_id', true)";

/**
 * Contact numbers and the contact count off the tenant row, so a tenant's writes stop queueing
 * behind each other on it (until now every create updated `tenants` and held that row to commit,
 * and the count trigger updated it again):
 *
 * - numbers: one PostgreSQL sequence per tenant (`contact_numbers."<tenant id>"`), created and
 *   dropped with the tenant by triggers. `nextval` is not transactional: a number is taken in
 *   microseconds, nobody waits for the taker's commit, and numbers follow the order they were
 *   taken in across every connection and process; a rolled-back create leaves a gap.
 *   `tenants.contact_seq` stays as a floor for bulk loaders (raising it raises the sequence).
 * - the count: `tenant_contact_counts` holds deltas that sum to the tenant's contact count. The
 *   statement trigger on contacts inserts one delta row per statement (inserts never wait for one
 *   another) and now and then folds the tenant's committed deltas into one row, skipping rows
 *   another transaction holds (`for update skip locked`), so the fold waits for no one either.
 *   `tenant_contact_count(tenant)` sums them.
 * - the limit: `take_contact_numbers(tenant, wanted)` grants at most what the tenant's
 *   `settings.limits.contacts` leaves, and hands out the numbers. Only a tenant with a limit pays
 *   for exactness: its writers take a transaction-scoped advisory lock on the tenant before
 *   counting, so two of them cannot both take the last place (a tenant without a limit takes no
 *   lock at all).
 */
export class Migration20261123000022ContactNumbers extends Migration {
  override up(): void {
    this.addSql(`
      create schema contact_numbers;

      create function contact_number_sequence(p_tenant text) returns text
        language sql immutable as $fn$ select format('contact_numbers.%I', p_tenant) $fn$;

      -- A tenant's sequence starts after its contact_seq (0 for a new tenant); a tenant id coming
      -- back after a truncate gets a fresh one.
      create function tenant_numbers_created() returns trigger
        language plpgsql security definer set search_path = pg_catalog, public as $fn$
      begin
        execute format('drop sequence if exists %s', contact_number_sequence(new.id));
        execute format('create sequence %s as bigint start with %s', contact_number_sequence(new.id),
                       new.contact_seq + 1);
        return null;
      end $fn$;
      create trigger tenant_numbers_created after insert on tenants
        for each row execute function tenant_numbers_created();

      create function tenant_numbers_deleted() returns trigger
        language plpgsql security definer set search_path = pg_catalog, public as $fn$
      begin
        execute format('drop sequence if exists %s', contact_number_sequence(old.id));
        return null;
      end $fn$;
      create trigger tenant_numbers_deleted after delete on tenants
        for each row execute function tenant_numbers_deleted();

      -- Bulk loaders (the benchmark seed, tests) number contacts themselves and then raise
      -- contact_seq: the sequence follows, never going back.
      create function tenant_numbers_floor() returns trigger
        language plpgsql security definer set search_path = pg_catalog, public as $fn$
      declare
        seq regclass := to_regclass(contact_number_sequence(new.id));
        taken bigint;
      begin
        if seq is null then
          execute format('create sequence %s as bigint start with %s', contact_number_sequence(new.id),
                         new.contact_seq + 1);
          return null;
        end if;
        -- The last number the sequence handed out, or the one before its start when it handed out
        -- none (pg_sequence_last_value is null then, which would move a sequence started above
        -- contact_seq back onto numbers in use).
        execute format('select case when is_called then last_value else last_value - 1 end from %s', seq)
          into taken;
        if new.contact_seq > taken then
          perform setval(seq, new.contact_seq);
        end if;
        return null;
      end $fn$;
      create trigger tenant_numbers_floor after update of contact_seq on tenants
        for each row when (new.contact_seq > old.contact_seq) execute function tenant_numbers_floor();

      create table tenant_contact_counts (
        tenant_id text not null references tenants (id) on delete cascade,
        id bigint generated always as identity,
        delta bigint not null,
        primary key (tenant_id, id)
      );

      -- Existing tenants: their count and sequence. Forced row-level security binds a table owner
      -- that is not a superuser: lifted for the copy, inside this migration's transaction.
      alter table tenants no force row level security;
      alter table contacts no force row level security;
      insert into tenant_contact_counts (tenant_id, delta)
        select tenant_id, count(*) from contacts group by tenant_id;
      do $$
      declare
        t record;
      begin
        for t in
          select id, greatest(contact_seq, coalesce((select max(number) from contacts c where c.tenant_id = tenants.id), 0)) as last
            from tenants
        loop
          execute format('create sequence %s as bigint start with %s', contact_number_sequence(t.id), t.last + 1);
        end loop;
      end $$;
      alter table tenants force row level security;
      alter table contacts force row level security;
      alter table tenant_contact_counts enable row level security;
      alter table tenant_contact_counts force row level security;
      create policy tenant_isolation on tenant_contact_counts
        using (tenant_id = ${TENANT}) with check (tenant_id = ${TENANT});
      grant select, insert, update, delete on tenant_contact_counts to ${APP_ROLE};
      alter table tenants drop column contact_count;

      create function tenant_contact_count(p_tenant text) returns bigint
        language sql stable as $fn$
        select coalesce(sum(delta), 0)::bigint from tenant_contact_counts where tenant_id = p_tenant
      $fn$;

      -- Replaces the tenant's deltas that no other transaction holds by their sum (in the caller's
      -- transaction: undone with it). Never waits.
      create function fold_contact_counts(p_tenant text) returns void
        language sql volatile as $fn$
        with gone as (
          delete from tenant_contact_counts
           where tenant_id = p_tenant
             and id in (select id from tenant_contact_counts where tenant_id = p_tenant for update skip locked)
          returning delta
        )
        insert into tenant_contact_counts (tenant_id, delta)
          select p_tenant, sum(delta) from gone having count(*) > 0
      $fn$;

      -- One delta row per tenant and statement; every 32nd row folds its tenant's deltas. A
      -- tenant being deleted (cascade) is left out: its deltas go with it.
      create or replace function contacts_count_changed() returns trigger language plpgsql as $fn$
      declare
        d record;
      begin
        if tg_op = 'INSERT' then
          for d in
            insert into tenant_contact_counts (tenant_id, delta)
              select n.tenant_id, n.c from (select tenant_id, count(*) c from inserted group by tenant_id) n
               where exists (select 1 from tenants t where t.id = n.tenant_id)
            returning tenant_id, id
          loop
            if d.id % 32 = 0 then perform fold_contact_counts(d.tenant_id); end if;
          end loop;
        else
          for d in
            insert into tenant_contact_counts (tenant_id, delta)
              select n.tenant_id, -n.c from (select tenant_id, count(*) c from deleted group by tenant_id) n
               where exists (select 1 from tenants t where t.id = n.tenant_id)
            returning tenant_id, id
          loop
            if d.id % 32 = 0 then perform fold_contact_counts(d.tenant_id); end if;
          end loop;
        end if;
        return null;
      end $fn$;

      -- Grants up to p_wanted new contacts of the tenant (all of them without a contact limit;
      -- with one, what the limit leaves, counted under a transaction-scoped advisory lock on the
      -- tenant so a concurrent writer counts after this one commits) and hands out their numbers.
      -- The count is read in a statement of its own, after the lock: its snapshot sees every
      -- writer that held the lock before.
      create function take_contact_numbers(p_tenant text, p_wanted integer)
        returns table (numbers bigint[], contact_limit bigint)
        language plpgsql volatile security definer set search_path = pg_catalog, public as $fn$
      declare
        lim bigint;
        granted bigint := greatest(p_wanted, 0);
        seq regclass;
      begin
        -- A writer takes numbers for one statement's rows (the API: one; an import: one chunk).
        if p_wanted > 1000000 then
          raise exception 'at most 1000000 contact numbers at once' using errcode = '22023';
        end if;
        -- Only inside a transaction bound to the tenant (this function reads past row-level security).
        if current_setting('app.tenant_id', true) is distinct from p_tenant then
          raise exception 'contact numbers outside a transaction bound to the tenant' using errcode = '42501';
        end if;
        select (t.settings -> 'limits' ->> 'contacts')::bigint into lim from tenants t where t.id = p_tenant;
        if lim is not null then
          perform pg_advisory_xact_lock(hashtextextended('contacts.limit:' || p_tenant, 0));
          granted := greatest(0, least(granted, lim - tenant_contact_count(p_tenant)));
        end if;
        seq := contact_number_sequence(p_tenant)::regclass;
        return query
          select coalesce((select array_agg(n order by n) from (select nextval(seq) n from generate_series(1, granted)) s),
                          '{}'::bigint[]),
                 lim;
      end $fn$;
      -- Only the application calls it (a login setting app.tenant_id could otherwise hold a
      -- tenant's limit lock or burn its numbers).
      revoke all on function take_contact_numbers(text, integer) from public;
      grant execute on function take_contact_numbers(text, integer) to ${APP_ROLE};
    `);
  }

  override down(): void {
    this.addSql(`
      alter table tenants add column contact_count bigint not null default 0;
      -- As in up: forced row-level security lifted for the copy (a non-superuser owner). The
      -- old code numbers from contact_seq + 1, so it is raised past every number handed out.
      alter table tenants no force row level security;
      alter table contacts no force row level security;
      update tenants t set contact_count = (select count(*) from contacts c where c.tenant_id = t.id),
        contact_seq = greatest(t.contact_seq,
                               coalesce((select max(number) from contacts c where c.tenant_id = t.id), 0));
      do $$
      declare
        t record;
        taken bigint;
      begin
        for t in select id from tenants where to_regclass(contact_number_sequence(id)) is not null loop
          execute format('select case when is_called then last_value else last_value - 1 end from %s',
                         contact_number_sequence(t.id)) into taken;
          update tenants set contact_seq = greatest(contact_seq, taken) where id = t.id;
        end loop;
      end $$;
      alter table tenants force row level security;
      alter table contacts force row level security;
      drop trigger tenant_numbers_created on tenants;
      drop trigger tenant_numbers_deleted on tenants;
      drop trigger tenant_numbers_floor on tenants;
      drop function tenant_numbers_created();
      drop function tenant_numbers_deleted();
      drop function tenant_numbers_floor();
      drop function take_contact_numbers(text, integer);
      drop function tenant_contact_count(text);
      create or replace function contacts_count_changed() returns trigger language plpgsql as $fn$
      begin
        if tg_op = 'INSERT' then
          update tenants t set contact_count = t.contact_count + n.c
            from (select tenant_id, count(*) c from inserted group by tenant_id) n where t.id = n.tenant_id;
        else
          update tenants t set contact_count = t.contact_count - n.c
            from (select tenant_id, count(*) c from deleted group by tenant_id) n where t.id = n.tenant_id;
        end if;
        return null;
      end $fn$;
      drop function fold_contact_counts(text);
      drop table tenant_contact_counts;
      drop schema contact_numbers cascade;
      drop function contact_number_sequence(text);
    `);
  }
}
