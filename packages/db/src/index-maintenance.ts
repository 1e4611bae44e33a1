/**
 * The database side of the search index, in one place: the functions that derive a contact's
 * search words, place keys and posting keys, and the triggers that keep `search_words` (the
 * tenant's dictionary) and `search_postings` in step with the contacts table. Migrations 3, 4, 9,
 * 10, 13 and 14 created them one by one; migration 23 recreates every one from this file.
 *
 * Changing one: edit it here and add a migration that runs `recreateIndexMaintenanceSql()` (as 23
 * does). A migration runs the definitions as they are when it runs, so a definition must only use
 * columns and tables that exist at migration 23; one that needs a later column is pinned in its own
 * migration instead. Triggers do not fire when a migration rewrites the table: a change to what a
 * contact posts also rebuilds `search_postings` (see migration 13).
 *
 * The TypeScript side of word splitting is `searchWords` (packages/contacts/src/search/terms.ts); the parity test there runs both.
 */

/** A function or trigger of the search index, as created. */
export interface IndexMaintenanceObject {
  /** `function name(args)` or `trigger name on contacts`. */
  name: string;
  /** A `create or replace` statement. */
  definition: string;
}

export const INDEX_MAINTENANCE_FUNCTIONS: readonly IndexMaintenanceObject[] = [
  {
    // The words of a contact's searchable text: split on spaces and ASCII punctuation (letters
    // outside ASCII stay inside words), at least two characters, digits-only tokens left out.
    // Feeds the generated column `contacts.search_words` (migration 4).
    name: "function contact_words(text)",
    definition: `create or replace function contact_words(text) returns text[] language sql immutable strict parallel safe as $fn$
        select coalesce(array_agg(distinct w order by w), '{}')
          from regexp_split_to_table($1, '[[:space:][:punct:]]+') w
         where length(w) >= 2 and w !~ '^[0-9]+$'
      $fn$`,
  },
  {
    // The places of a contact's addresses, lower-cased, as text arrays (ANALYZE keeps
    // most-common-element statistics for arrays, so the planner knows a rare city from a common
    // country). Run on insert when the keys are left out (the import computes them in its SELECT)
    // and on every update of the addresses.
    name: "function contacts_place_keys()",
    definition: `create or replace function contacts_place_keys() returns trigger language plpgsql as $fn$
      begin
        select coalesce(array_agg(distinct lower(a->>'city')) filter (where a->>'city' is not null), '{}'),
               coalesce(array_agg(distinct lower(a->>'state')) filter (where a->>'state' is not null), '{}'),
               coalesce(array_agg(distinct lower(a->>'country')) filter (where a->>'country' is not null), '{}')
          into new.city_keys, new.state_keys, new.country_keys
          from jsonb_array_elements(new.addresses) a;
        return new;
      end $fn$`,
  },
  {
    // New words of the inserted or updated rows into the tenant's dictionary, in one statement, in
    // word order (two writers adding the same new words wait for each other in the same order).
    name: "function contacts_collect_words()",
    definition: `create or replace function contacts_collect_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_words (tenant_id, word)
          select distinct n.tenant_id, w from new_rows n cross join unnest(n.search_words) w
          order by 1, 2
          on conflict do nothing;
        return null;
      end $fn$`,
  },
  {
    // The dictionary has no foreign key to the tenant (it cost a key-share lock per new word):
    // deleting a tenant deletes its words here.
    name: "function tenants_delete_words()",
    definition: `create or replace function tenants_delete_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_words where tenant_id = old.id;
        return old;
      end $fn$`,
  },
  {
    // What a contact posts: its words, then `city:<key>`, `state:<key>`, `country:<key>` (a word
    // never holds a colon: it is split on punctuation).
    name: "function contact_posting_keys(text[], text[], text[], text[])",
    definition: `create or replace function contact_posting_keys(words text[], city_keys text[], state_keys text[], country_keys text[])
        returns text[] language sql immutable parallel safe as $fn$
        select coalesce(words, '{}')
          || array(select 'city:' || k from unnest(city_keys) k)
          || array(select 'state:' || k from unnest(state_keys) k)
          || array(select 'country:' || k from unnest(country_keys) k)
      $fn$`,
  },
  {
    // Inserted contacts post their keys in one statement (bulk loads included).
    name: "function contacts_post_words()",
    definition: `create or replace function contacts_post_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select n.tenant_id, w, n.sort_last, n.id from new_rows n
            cross join unnest(contact_posting_keys(n.search_words, n.city_keys, n.state_keys, n.country_keys)) w;
        return null;
      end $fn$`,
  },
  {
    // Deleted contacts take their entries out in one statement (a tenant's contacts deleted with it).
    name: "function contacts_unpost_words()",
    definition: `create or replace function contacts_unpost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         using (select o.tenant_id, w, o.sort_last, o.id from old_rows o
                  cross join unnest(contact_posting_keys(o.search_words, o.city_keys, o.state_keys, o.country_keys)) w)
               as d (tenant_id, word, sort_last, contact_id)
         where p.tenant_id = d.tenant_id and p.word = d.word and p.sort_last = d.sort_last
           and p.contact_id = d.contact_id;
        return null;
      end $fn$`,
  },
  {
    // An updated contact whose keys or last-name key changed: its old entries out, its new ones in,
    // row by row through the primary key.
    name: "function contacts_repost_words()",
    definition: `create or replace function contacts_repost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         where p.tenant_id = old.tenant_id
           and p.word = any(contact_posting_keys(old.search_words, old.city_keys, old.state_keys, old.country_keys))
           and p.sort_last = old.sort_last and p.contact_id = old.id;
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select new.tenant_id, w, new.sort_last, new.id
            from unnest(contact_posting_keys(new.search_words, new.city_keys, new.state_keys, new.country_keys)) w;
        return null;
      end $fn$`,
  },
];

export const INDEX_MAINTENANCE_TRIGGERS: readonly IndexMaintenanceObject[] = [
  {
    name: "trigger contacts_place_keys_insert on contacts",
    definition: `create or replace trigger contacts_place_keys_insert before insert on contacts for each row
        when (new.city_keys is null or new.state_keys is null or new.country_keys is null)
        execute function contacts_place_keys()`,
  },
  {
    name: "trigger contacts_place_keys_update on contacts",
    definition: `create or replace trigger contacts_place_keys_update before update of addresses on contacts for each row
        execute function contacts_place_keys()`,
  },
  {
    name: "trigger contacts_words_insert on contacts",
    definition: `create or replace trigger contacts_words_insert after insert on contacts
        referencing new table as new_rows for each statement execute function contacts_collect_words()`,
  },
  {
    name: "trigger contacts_words_update on contacts",
    definition: `create or replace trigger contacts_words_update after update on contacts
        referencing new table as new_rows for each statement execute function contacts_collect_words()`,
  },
  {
    name: "trigger tenants_delete_words on tenants",
    definition: `create or replace trigger tenants_delete_words after delete on tenants for each row
        execute function tenants_delete_words()`,
  },
  {
    name: "trigger contacts_postings_insert on contacts",
    definition: `create or replace trigger contacts_postings_insert after insert on contacts
        referencing new table as new_rows for each statement execute function contacts_post_words()`,
  },
  {
    name: "trigger contacts_postings_update on contacts",
    definition: `create or replace trigger contacts_postings_update after update on contacts for each row
        when (old.search_words is distinct from new.search_words or old.sort_last <> new.sort_last
              or old.city_keys is distinct from new.city_keys or old.state_keys is distinct from new.state_keys
              or old.country_keys is distinct from new.country_keys
              or old.tenant_id <> new.tenant_id or old.id <> new.id)
        execute function contacts_repost_words()`,
  },
  {
    name: "trigger contacts_postings_delete on contacts",
    definition: `create or replace trigger contacts_postings_delete after delete on contacts
        referencing old table as old_rows for each statement execute function contacts_unpost_words()`,
  },
];

/** Every function, then every trigger, of the search index, as one script (for a migration). */
export function recreateIndexMaintenanceSql(): string {
  return [...INDEX_MAINTENANCE_FUNCTIONS, ...INDEX_MAINTENANCE_TRIGGERS]
    .map((o) => `${o.definition};`)
    .join("\n");
}
