import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/**
 * How common a city, state, country or role is, from the planner's own statistics (the
 * most-common-elements list of the contacts' text arrays), so a search can choose its plan the way
 * the planner would if it knew that matches are not spread evenly along the sort order: for a rare
 * value, collect every match and sort them (a few thousand rows: milliseconds); for a common one,
 * walk the sort order until the page is full. PostgreSQL picks the walk for both, and a city that
 * holds 0.3 % of the contacts cost a walk over 14,000 rows (40 ms) instead of a sort of 3,000 (8 ms).
 *
 * `pg_stats` hides the statistics of tables under row-level security from the roles bound by it,
 * so the function runs as its owner (SECURITY DEFINER, fixed search path). It answers one number
 * (the value's share of all contacts, or an upper bound when the value is not among the most
 * common), never a value; null when the statistics are not readable (then the planner decides).
 */
export class Migration20261123000009FilterFrequency extends Migration {
  override up(): void {
    this.addSql(`
      create function contact_filter_frequency(kind text, value text) returns real
        language sql stable security definer set search_path = pg_catalog as $fn$
        select coalesce(
                 (select f.freq from unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) f(elem, freq)
                   where f.elem = value),
                 s.most_common_elem_freqs[array_length(s.most_common_elem_freqs, 1) - 2])
          from pg_stats s
         where s.schemaname = 'public' and s.tablename = 'contacts'
           and s.attname = case kind when 'city' then 'city_keys' when 'state' then 'state_keys'
                                     when 'country' then 'country_keys' when 'role' then 'roles' end
      $fn$;
      revoke all on function contact_filter_frequency(text, text) from public;
      grant execute on function contact_filter_frequency(text, text) to ${APP_ROLE};
    `);
  }

  override down(): void {
    this.addSql("drop function contact_filter_frequency(text, text);");
  }
}
