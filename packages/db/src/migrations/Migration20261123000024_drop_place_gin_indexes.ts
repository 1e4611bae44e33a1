import { Migration } from "@mikro-orm/migrations";

/**
 * Cheaper index maintenance (issue 18): the GIN indexes on `state_keys` and `country_keys` go. A
 * state or country is indexed by its postings (`state:<key>`, `country:<key>`, migration 14), which
 * serve a lone state or country (`placeWalk`) and free text with one (`placeMerge`); every other
 * plan checks them on the last-name index, which carries the keys (migration 12). The GIN indexes
 * served one case: a rare state or country in a search that collects its matches, which now reads
 * the contacts of its postings (`postedPlace` in packages/contacts/src/search/search-sql.ts). A
 * state or country is never rare enough for a bitmap intersection to matter there (the seed's
 * rarest holds 0.3 % of the tenant).
 *
 * Kept, measured on a seeded 200,000-contact tenant (BENCHMARKS.md, issue 18 index maintenance):
 * the GIN indexes on `search_words` and `city_keys`. The postings hold the same words and cities,
 * but in sort order only: a search of two terms, or a rare city with a name prefix, intersects the
 * GIN bitmaps in 0.5-1.6 ms where the postings took 4-12 ms (a semi-join per term, or a probe per
 * holder) plus up to 5 ms of planning for a join on `sort_last` (its 1,000-bucket statistics).
 * The key arrays stay: the postings are made from them and ANALYZE's element statistics on them
 * give the planner how common a place is (`contact_filter_frequency`).
 */
export class Migration20261123000024DropPlaceGinIndexes extends Migration {
  override up(): void {
    this.addSql(`
      drop index contacts_state_idx;
      drop index contacts_country_idx;
    `);
  }

  override down(): void {
    this.addSql(`
      create index contacts_state_idx on contacts using gin (state_keys);
      create index contacts_country_idx on contacts using gin (country_keys);
    `);
  }
}
