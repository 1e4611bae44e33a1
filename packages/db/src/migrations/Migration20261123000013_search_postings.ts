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
 */
export class Migration20261123000013SearchPostings extends Migration {
  override up(): void {
    this.addSql(`
      create table search_postings (
        tenant_id text not null,
        word text collate "C" not null,
        sort_last text collate "C" not null,
        contact_id uuid not null,
        primary key (tenant_id, word, sort_last, contact_id)
      );
      alter table search_postings enable row level security;
      alter table search_postings force row level security;
      create policy tenant_isolation on search_postings
        using (tenant_id = current_setting('app.tenant_id', true))
        with check (tenant_id = current_setting('app.tenant_id', true));
      grant select, insert, delete on search_postings to ${APP_ROLE};

      create function contacts_post_words() returns trigger language plpgsql as $fn$
      begin
        insert into search_postings (tenant_id, word, sort_last, contact_id)
          select n.tenant_id, w, n.sort_last, n.id from new_rows n cross join unnest(n.search_words) w;
        return null;
      end $fn$;

      -- An update or delete changes a few contacts at a time (bulk loads insert): its entries are
      -- taken out through the primary key, row by row, only when the words or the key changed.
      create function contacts_unpost_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_postings p
         where p.tenant_id = old.tenant_id and p.word = any(old.search_words)
           and p.sort_last = old.sort_last and p.contact_id = old.id;
        if tg_op = 'UPDATE' then
          insert into search_postings (tenant_id, word, sort_last, contact_id)
            select new.tenant_id, w, new.sort_last, new.id from unnest(new.search_words) w;
        end if;
        return null;
      end $fn$;

      create trigger contacts_postings_insert after insert on contacts
        referencing new table as new_rows for each statement execute function contacts_post_words();
      create trigger contacts_postings_update after update on contacts for each row
        when (old.search_words is distinct from new.search_words or old.sort_last <> new.sort_last
              or old.tenant_id <> new.tenant_id or old.id <> new.id)
        execute function contacts_unpost_words();
      create trigger contacts_postings_delete after delete on contacts for each row
        execute function contacts_unpost_words();

      -- Existing contacts post their words. Row-level security binds a table owner that is not a
      -- superuser (forced): lifted for the copy, inside this migration's transaction.
      alter table contacts no force row level security;
      alter table search_postings no force row level security;
      insert into search_postings (tenant_id, word, sort_last, contact_id)
        select c.tenant_id, w, c.sort_last, c.id from contacts c cross join unnest(c.search_words) w;
      alter table contacts force row level security;
      alter table search_postings force row level security;
      analyze search_postings;
    `);
  }

  override down(): void {
    this.addSql(`
      drop trigger contacts_postings_delete on contacts;
      drop trigger contacts_postings_update on contacts;
      drop trigger contacts_postings_insert on contacts;
      drop function contacts_unpost_words();
      drop function contacts_post_words();
      drop table search_postings;
    `);
  }
}
