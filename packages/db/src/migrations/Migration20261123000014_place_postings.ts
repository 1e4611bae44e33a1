import { Migration } from "@mikro-orm/migrations";

/**
 * A place filter in the last-name order without reading every contact of the place. A city held by
 * 0.3-0.5 % of a million contacts was served either by walking the last-name index past about
 * 10,000-17,000 entries or by reading its 3,000-5,000 rows and sorting them: both 10-20 ms (search
 * fifth pass). The postings now also hold one entry per city, state and country key of a contact
 * (`city:<key>`, `state:<key>`, `country:<key>`; a word never holds a colon, it is split on
 * punctuation), so the page of a place filter is the first 51 entries of its key: under 1 ms.
 *
 * The triggers of migration 13 post `contact_posting_keys` instead of the bare words, and an update
 * re-posts a contact when its places change too.
 */
export class Migration20261123000014PlacePostings extends Migration {
  override up(): void {
    this.addSql(`
      create function contact_posting_keys(words text[], city_keys text[], state_keys text[], country_keys text[])
        returns text[] language sql immutable parallel safe as $fn$
        select coalesce(words, '{}')
          || array(select 'city:' || k from unnest(city_keys) k)
          || array(select 'state:' || k from unnest(state_keys) k)
          || array(select 'country:' || k from unnest(country_keys) k)
      $fn$;

      create or replace function contacts_post_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select n.tenant_id, w, n.sort_last, n.id from new_rows n
            cross join unnest(contact_posting_keys(n.search_words, n.city_keys, n.state_keys, n.country_keys)) w;
        return null;
      end $fn$;
      create or replace function contacts_unpost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         using (select o.tenant_id, w, o.sort_last, o.id from old_rows o
                  cross join unnest(contact_posting_keys(o.search_words, o.city_keys, o.state_keys, o.country_keys)) w)
               as d (tenant_id, word, sort_last, contact_id)
         where p.tenant_id = d.tenant_id and p.word = d.word and p.sort_last = d.sort_last
           and p.contact_id = d.contact_id;
        return null;
      end $fn$;
      create or replace function contacts_repost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         where p.tenant_id = old.tenant_id
           and p.word = any(contact_posting_keys(old.search_words, old.city_keys, old.state_keys, old.country_keys))
           and p.sort_last = old.sort_last and p.contact_id = old.id;
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select new.tenant_id, w, new.sort_last, new.id
            from unnest(contact_posting_keys(new.search_words, new.city_keys, new.state_keys, new.country_keys)) w;
        return null;
      end $fn$;
      drop trigger contacts_postings_update on contacts;
      create trigger contacts_postings_update after update on contacts for each row
        when (old.search_words is distinct from new.search_words or old.sort_last <> new.sort_last
              or old.city_keys is distinct from new.city_keys or old.state_keys is distinct from new.state_keys
              or old.country_keys is distinct from new.country_keys
              or old.tenant_id <> new.tenant_id or old.id <> new.id)
        execute function contacts_repost_words();

      -- Existing contacts post their places, then the key is rebuilt over the entries (as in
      -- migration 13, with forced row-level security lifted for the copy).
      alter table search_postings drop constraint search_postings_pkey;
      alter table contacts no force row level security;
      alter table search_postings no force row level security;
      insert into search_postings (tenant_id, word, sort_last, contact_id)
        select c.tenant_id, w, c.sort_last, c.id from contacts c
          cross join unnest(contact_posting_keys('{}', c.city_keys, c.state_keys, c.country_keys)) w;
      alter table contacts force row level security;
      alter table search_postings force row level security;
      alter table search_postings add primary key (tenant_id, word, sort_last, contact_id);
      analyze search_postings;
    `);
  }

  override down(): void {
    this.addSql(`
      drop trigger contacts_postings_update on contacts;
      create trigger contacts_postings_update after update on contacts for each row
        when (old.search_words is distinct from new.search_words or old.sort_last <> new.sort_last
              or old.tenant_id <> new.tenant_id or old.id <> new.id)
        execute function contacts_repost_words();
      create or replace function contacts_post_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select n.tenant_id, w, n.sort_last, n.id from new_rows n cross join unnest(n.search_words) w;
        return null;
      end $fn$;
      create or replace function contacts_unpost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         using (select o.tenant_id, w, o.sort_last, o.id from old_rows o cross join unnest(o.search_words) w)
               as d (tenant_id, word, sort_last, contact_id)
         where p.tenant_id = d.tenant_id and p.word = d.word and p.sort_last = d.sort_last
           and p.contact_id = d.contact_id;
        return null;
      end $fn$;
      create or replace function contacts_repost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         where p.tenant_id = old.tenant_id and p.word = any(old.search_words)
           and p.sort_last = old.sort_last and p.contact_id = old.id;
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select new.tenant_id, w, new.sort_last, new.id from unnest(new.search_words) w;
        return null;
      end $fn$;
      drop function contact_posting_keys(text[], text[], text[], text[]);
      alter table search_postings no force row level security;
      delete from search_postings where word like '%:%';
      alter table search_postings force row level security;
    `);
  }
}
