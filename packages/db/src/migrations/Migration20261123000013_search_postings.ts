import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tenant tables this migration adds (row-level security forced, as on the others). */
export const POSTING_TENANT_TABLES = ["search_postings"] as const;

/**
 * Free text in the last-name order without reading every match. The GIN index on the contacts'
 * word arrays finds the contacts holding a word, but in no order: a five-letter prefix of a common
 * name matches thousands of contacts, and each had to be read (a row, about 4 µs) to sort them for
 * a page of 50 (measured: q prefix p95 45 ms at 1M). `search_postings` holds one B-tree entry per
 * word of a contact, in (word, last-name key, id) order, so the page of a one-term search is the
 * first 51 entries of each word the term stands for, merged: index entries, not rows, however
 * common the word.
 *
 * Kept by triggers on contacts: inserted contacts (bulk loads included) post their words in one
 * statement; an update that changes a contact's words or its last-name key takes its old entries
 * out and posts the new ones; a deleted contact takes its entries out.
 *
 * Triggers do not fire when a migration rewrites the table (a new expression for `search_words` or
 * `sort_last`, say): such a migration must rebuild the postings (`truncate search_postings` and the
 * insert ... select below). The search tests check that the postings hold exactly each contact's
 * words under its key.
 */
export class Migration20261123000013SearchPostings extends Migration {
  override up(): void {
    this.addSql(`
      create table search_postings (
        tenant_id text not null,
        word text collate "C" not null,
        sort_last text collate "C" not null,
        contact_id uuid not null
      );

      -- Existing contacts post their words first, then the key is built over them sorted (faster
      -- than inserting each entry into a built index). Forced row-level security binds a table owner
      -- that is not a superuser: lifted for the copy, inside this migration's transaction.
      alter table contacts no force row level security;
      insert into search_postings (tenant_id, word, sort_last, contact_id)
        select c.tenant_id, w, c.sort_last, c.id from contacts c cross join unnest(c.search_words) w;
      alter table contacts force row level security;
      alter table search_postings add primary key (tenant_id, word, sort_last, contact_id);
      alter table search_postings enable row level security;
      alter table search_postings force row level security;
      create policy tenant_isolation on search_postings
        using (tenant_id = current_setting('app.tenant_id', true))
        with check (tenant_id = current_setting('app.tenant_id', true));
      grant select, insert, delete on search_postings to ${APP_ROLE};

      -- Inserted and deleted contacts, in one statement each (bulk loads, a tenant's contacts
      -- deleted with it).
      create function contacts_post_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select n.tenant_id, w, n.sort_last, n.id from new_rows n cross join unnest(n.search_words) w;
        return null;
      end $fn$;
      create function contacts_unpost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         using (select o.tenant_id, w, o.sort_last, o.id from old_rows o cross join unnest(o.search_words) w)
               as d (tenant_id, word, sort_last, contact_id)
         where p.tenant_id = d.tenant_id and p.word = d.word and p.sort_last = d.sort_last
           and p.contact_id = d.contact_id;
        return null;
      end $fn$;

      -- An update re-posts a contact only when its words or its last-name key changed (most updates
      -- change neither), row by row through the primary key.
      create function contacts_repost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         where p.tenant_id = old.tenant_id and p.word = any(old.search_words)
           and p.sort_last = old.sort_last and p.contact_id = old.id;
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select new.tenant_id, w, new.sort_last, new.id from unnest(new.search_words) w;
        return null;
      end $fn$;

      create trigger contacts_postings_insert after insert on contacts
        referencing new table as new_rows for each statement execute function contacts_post_words();
      create trigger contacts_postings_update after update on contacts for each row
        when (old.search_words is distinct from new.search_words or old.sort_last <> new.sort_last
              or old.tenant_id <> new.tenant_id or old.id <> new.id)
        execute function contacts_repost_words();
      create trigger contacts_postings_delete after delete on contacts
        referencing old table as old_rows for each statement execute function contacts_unpost_words();
      analyze search_postings;
    `);
  }

  override down(): void {
    this.addSql(`
      drop trigger contacts_postings_delete on contacts;
      drop trigger contacts_postings_update on contacts;
      drop trigger contacts_postings_insert on contacts;
      drop function contacts_repost_words();
      drop function contacts_unpost_words();
      drop function contacts_post_words();
      drop table search_postings;
    `);
  }
}
