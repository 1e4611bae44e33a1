import { Migration } from "@mikro-orm/migrations";

/**
 * Finding contacts at a million rows per tenant: generated columns that hold what the filters and
 * sorts compare (lower-cased, so one index serves case-insensitive matches), and an index for every
 * filter and sort of `contacts.search`, `contacts.list` and `contacts.descendants`.
 * - B-tree indexes lead with tenant_id. The sort keys use the "C" collation: byte order is a
 *   stable, locale-independent sort, and a prefix `like` can range-scan the same index.
 * - GIN indexes (array, JSONB and trigram matches) do not include tenant_id: a tenant holds most
 *   rows, so a tenant column in a GIN index makes every lookup walk the tenant's whole posting
 *   list (measured: seconds at 1M rows); the tenant condition is checked on the few rows found.
 */
export class Migration20261123000003Search extends Migration {
  override up(): void {
    this.addSql(`
      create extension if not exists pg_trgm;

      alter table contacts
        add column sort_last text collate "C" generated always as
          (lower(coalesce(last_name, company_name, ''))) stored,
        add column sort_first text collate "C" generated always as
          (lower(coalesce(first_name, company_name, ''))) stored,
        add column city_keys text[] not null default '{}',
        add column state_keys text[] not null default '{}',
        add column country_keys text[] not null default '{}',
        add column search_text text generated always as (lower(
          coalesce(first_name, '') || ' ' || coalesce(middle_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
          coalesce(nickname, '') || ' ' || coalesce(maiden_name, '') || ' ' || coalesce(company_name, '') || ' ' ||
          jsonb_path_query_array(emails, '$[*].address')::text)) stored;

      -- The places of a contact's addresses, lower-cased, as text arrays: ANALYZE keeps most-common-
      -- element statistics for arrays (not for JSONB), so the planner knows a rare city from a
      -- common country. Kept by a trigger (a generated column cannot aggregate).
      create function contacts_place_keys() returns trigger language plpgsql as $fn$
      begin
        select coalesce(array_agg(distinct lower(a->>'city')) filter (where a->>'city' is not null), '{}'),
               coalesce(array_agg(distinct lower(a->>'state')) filter (where a->>'state' is not null), '{}'),
               coalesce(array_agg(distinct lower(a->>'country')) filter (where a->>'country' is not null), '{}')
          into new.city_keys, new.state_keys, new.country_keys
          from jsonb_array_elements(new.addresses) a;
        return new;
      end $fn$;
      create trigger contacts_place_keys before insert or update of addresses on contacts
        for each row execute function contacts_place_keys();
      update contacts set addresses = addresses where addresses <> '[]';

      -- sorts (keyset paging: sort key, then id)
      create index contacts_sort_last_idx on contacts (tenant_id, sort_last, id);
      create index contacts_sort_first_idx on contacts (tenant_id, sort_first, id);
      create index contacts_created_idx on contacts (tenant_id, created_at, id);
      create index contacts_updated_idx on contacts (tenant_id, updated_at, id);
      create index contacts_status_idx on contacts (tenant_id, status, sort_last, id);

      -- prefix filters as byte ranges of the lower-cased value; first and last names range-scan the
      -- sort keys above
      create index contacts_nickname_idx on contacts (tenant_id, (lower(nickname) collate "C"))
        where nickname is not null;
      create index contacts_job_title_idx on contacts (tenant_id, (lower(job_title) collate "C"))
        where job_title is not null;
      create index contacts_username_idx on contacts (tenant_id, lower(username)) where username is not null;

      -- list by account in number order; roles; emails; places; free text
      drop index contacts_account_idx;
      create index contacts_account_idx on contacts (tenant_id, account_id, number) where account_id is not null;
      create index contacts_roles_idx on contacts using gin (roles);
      create index contacts_city_idx on contacts using gin (city_keys);
      create index contacts_state_idx on contacts using gin (state_keys);
      create index contacts_country_idx on contacts using gin (country_keys);
      create index contacts_search_text_idx on contacts using gin (search_text gin_trgm_ops);

      create index accounts_name_idx on accounts (tenant_id, (lower(name) collate "C"));

      -- Row-level security applies a filter before the policy (as an index condition, say) only when
      -- every function the filter calls on row data is LEAKPROOF; otherwise it runs after the policy,
      -- row by row, and the index is not used (measured: email and free-text searches scanned the
      -- whole tenant). These functions cannot reveal their arguments (no data-dependent errors), so
      -- they are marked leakproof. That needs a superuser (the embedded server's owner is one);
      -- elsewhere the migration says so and the searches stay correct, only slower.
      do $$ begin
        if (select rolsuper from pg_roles where rolname = current_user) then
          alter function pg_catalog.lower(text) leakproof;
          alter function pg_catalog.jsonb_contains(jsonb, jsonb) leakproof;
          alter function pg_catalog.arraycontains(anyarray, anyarray) leakproof;
          alter function word_similarity_op(text, text) leakproof;
        else
          raise notice 'not a superuser: search filters under row-level security will not use their indexes';
        end if;
      end $$;
    `);
  }

  override down(): void {
    this.addSql(`
      drop index accounts_name_idx;
      drop index contacts_account_idx;
      create index contacts_account_idx on contacts (tenant_id, account_id) where account_id is not null;
      drop index contacts_roles_idx, contacts_username_idx, contacts_job_title_idx, contacts_nickname_idx,
        contacts_city_idx, contacts_state_idx, contacts_country_idx, contacts_search_text_idx,
        contacts_status_idx, contacts_updated_idx,
        contacts_created_idx, contacts_sort_first_idx, contacts_sort_last_idx;
      drop trigger contacts_place_keys on contacts;
      drop function contacts_place_keys();
      alter table contacts drop column search_text, drop column country_keys, drop column state_keys,
        drop column city_keys, drop column sort_first, drop column sort_last;
    `);
  }
}
