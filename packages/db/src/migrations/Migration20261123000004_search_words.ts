import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tenant tables this migration adds (row-level security forced, as on the access-control ones). */
export const SEARCH_TENANT_TABLES = ["search_words"] as const;

/**
 * Free text and prefix filters that stay fast at a million contacts (measured in BENCHMARKS.md):
 * - Free text through a per-tenant dictionary of words instead of trigram similarity over each
 *   contact's text. A trigram index over a million names returns tens of thousands of candidates for
 *   a five-letter prefix, each re-checked against its row (measured: 0.1-0.9 s). Now a query term is
 *   first expanded against the tenant's dictionary (words starting with it, or one or two edits away
 *   from it: `fuzzystrmatch`), then the contacts holding any of those words come from a GIN index on
 *   their word array, an exact lookup with no re-check.
 * - The dictionary only grows (a word nobody uses any more matches nobody); it is filled by
 *   statement-level triggers, so a bulk insert adds each new word once.
 * - The contact text column and its trigram index go: nothing reads them, and the index was the
 *   costliest to maintain on every insert.
 * - Expression statistics for the nickname and job title prefixes: PostgreSQL ignores the statistics
 *   of a partial index's expression, so it guessed 0.5 % for any prefix and read 66,000 rows for
 *   "chief" where walking the sort order reads 800.
 */
export class Migration20261123000004SearchWords extends Migration {
  override up(): void {
    this.addSql(`
      create extension if not exists fuzzystrmatch;

      -- The words of a contact's searchable text: split on spaces and ASCII punctuation (letters
      -- outside ASCII stay inside words), at least two characters, digits-only tokens left out.
      create function contact_words(text) returns text[] language sql immutable strict parallel safe as $fn$
        select coalesce(array_agg(distinct w order by w), '{}')
          from regexp_split_to_table($1, '[[:space:][:punct:]]+') w
         where length(w) >= 2 and w !~ '^[0-9]+$'
      $fn$;

      drop index contacts_search_text_idx;
      alter table contacts drop column search_text;
      alter table contacts add column search_words text[] collate "C" generated always as (contact_words(lower(
          coalesce(first_name, '') || ' ' || coalesce(middle_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
          coalesce(nickname, '') || ' ' || coalesce(maiden_name, '') || ' ' || coalesce(company_name, '') || ' ' ||
          jsonb_path_query_array(emails, '$[*].address')::text))) stored;
      create index contacts_search_words_idx on contacts using gin (search_words);

      create table search_words (
        tenant_id text not null references tenants (id) on delete cascade,
        word text collate "C" not null,
        primary key (tenant_id, word)
      );
      alter table search_words enable row level security;
      alter table search_words force row level security;
      create policy tenant_isolation on search_words
        using (tenant_id = current_setting('app.tenant_id', true))
        with check (tenant_id = current_setting('app.tenant_id', true));
      grant select, insert on search_words to ${APP_ROLE};

      -- New words of the inserted or updated rows, in one statement, in word order (two writers
      -- adding the same new words wait for each other in the same order).
      create function contacts_collect_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_words (tenant_id, word)
          select distinct n.tenant_id, w from new_rows n cross join unnest(n.search_words) w
          order by 1, 2
          on conflict do nothing;
        return null;
      end $fn$;
      create trigger contacts_words_insert after insert on contacts
        referencing new table as new_rows for each statement execute function contacts_collect_words();
      create trigger contacts_words_update after update on contacts
        referencing new table as new_rows for each statement execute function contacts_collect_words();
      insert into search_words (tenant_id, word)
        select distinct tenant_id, w from contacts cross join unnest(search_words) w on conflict do nothing;

      create statistics contacts_nickname_stats on (lower(nickname) collate "C") from contacts;
      create statistics contacts_job_title_stats on (lower(job_title) collate "C") from contacts;

      -- Array overlap (a contact holds one of the expanded words) as an index condition under
      -- row-level security: see the search migration.
      do $$ begin
        if (select rolsuper from pg_roles where rolname = current_user) then
          alter function pg_catalog.arrayoverlap(anyarray, anyarray) leakproof;
        end if;
      end $$;
      analyze contacts;
    `);
  }

  override down(): void {
    this.addSql(`
      drop statistics contacts_job_title_stats, contacts_nickname_stats;
      drop trigger contacts_words_update on contacts;
      drop trigger contacts_words_insert on contacts;
      drop function contacts_collect_words();
      drop table search_words;
      drop index contacts_search_words_idx;
      alter table contacts drop column search_words;
      drop function contact_words(text);
      alter table contacts add column search_text text generated always as (lower(
          coalesce(first_name, '') || ' ' || coalesce(middle_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
          coalesce(nickname, '') || ' ' || coalesce(maiden_name, '') || ' ' || coalesce(company_name, '') || ' ' ||
          jsonb_path_query_array(emails, '$[*].address')::text)) stored;
      create index contacts_search_text_idx on contacts using gin (search_text gin_trgm_ops);
    `);
  }
}
