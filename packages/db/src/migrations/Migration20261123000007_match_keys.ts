import { Migration } from "@mikro-orm/migrations";

/**
 * Duplicate detection: each contact's match keys (normalized emails, E.164 phones, phonetic name at
 * a postal code; see `duplicateKeys` in the domain), prefixed by kind (`e:`, `p:`, `n:`), written by
 * the application with every change (the phonetic code comes from a maintained double-metaphone
 * library, not from SQL), and found through a GIN index.
 */
export class Migration20261123000007MatchKeys extends Migration {
  override up(): void {
    this.addSql(`
      alter table contacts add column match_keys text[] not null default '{}';
      create index contacts_match_keys_idx on contacts using gin (match_keys);
    `);
  }

  override down(): void {
    this.addSql(`
      drop index contacts_match_keys_idx;
      alter table contacts drop column match_keys;
    `);
  }
}
