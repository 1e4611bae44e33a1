import { Migration } from "@mikro-orm/migrations";

/**
 * Cheaper index maintenance, same search speed (issue 18): the GIN indexes that served the same
 * lookups as `search_postings` go. A contact's words and its city, state and country keys were
 * each indexed twice, once in a GIN index on the contacts' arrays and once as postings (migrations
 * 13 and 14, `(tenant_id, word, sort_last, contact_id)`), and every insert paid for both. The
 * searches that collected through the GIN indexes (free text of several terms or many words, a rare
 * place, free text with a place) now collect through the postings (`candidateConditions` in
 * packages/contacts/src/search/search-sql.ts): a range of the postings key per word or place, then
 * each contact by its primary key.
 *
 * The arrays themselves stay: the postings are made from them, the last-name index carries the
 * place keys for walks that check them, and ANALYZE's element statistics on them give the planner
 * how common a place is (`contact_filter_frequency`).
 */
export class Migration20261123000024PostingsServeSearch extends Migration {
  override up(): void {
    this.addSql(`
      drop index contacts_search_words_idx;
      drop index contacts_city_idx;
      drop index contacts_state_idx;
      drop index contacts_country_idx;
    `);
  }

  override down(): void {
    this.addSql(`
      create index contacts_search_words_idx on contacts using gin (search_words);
      create index contacts_city_idx on contacts using gin (city_keys);
      create index contacts_state_idx on contacts using gin (state_keys);
      create index contacts_country_idx on contacts using gin (country_keys);
    `);
  }
}
