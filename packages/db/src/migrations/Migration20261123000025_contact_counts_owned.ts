import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/**
 * The contact count's deltas (`tenant_contact_counts`, migration 22) are written only by the count
 * trigger and its fold, which now run as their owner (security definer); the application role may
 * read them (`tenant_contact_count`) but no longer insert, change or delete one, so no statement of
 * the API or the worker can move a tenant's count, and with it its contact limit. Row-level
 * security still applies (the table forces it): the trigger writes rows of the tenant the
 * transaction is bound to.
 *
 * Every security-definer function of the numbers and counts (migration 22's too) searches the
 * session's temporary schema last (`pg_temp` named at the end of its search path): otherwise a
 * session could create a temporary `tenants` or `tenant_contact_counts` that the function would
 * read or write instead of the real table, and move its count or its limit.
 */
export class Migration20261123000025ContactCountsOwned extends Migration {
  override up(): void {
    this.addSql(`
      alter function contacts_count_changed() security definer set search_path = pg_catalog, public, pg_temp;
      alter function fold_contact_counts(text) security definer set search_path = pg_catalog, public, pg_temp;
      alter function tenant_numbers_created() set search_path = pg_catalog, public, pg_temp;
      alter function tenant_numbers_deleted() set search_path = pg_catalog, public, pg_temp;
      alter function tenant_numbers_floor() set search_path = pg_catalog, public, pg_temp;
      alter function take_contact_numbers(text, integer) set search_path = pg_catalog, public, pg_temp;
      revoke all on function fold_contact_counts(text) from public;
      revoke insert, update, delete on tenant_contact_counts from ${APP_ROLE};
    `);
  }

  override down(): void {
    this.addSql(`
      grant insert, update, delete on tenant_contact_counts to ${APP_ROLE};
      grant execute on function fold_contact_counts(text) to public;
      alter function fold_contact_counts(text) security invoker reset search_path;
      alter function contacts_count_changed() security invoker reset search_path;
      alter function tenant_numbers_created() set search_path = pg_catalog, public;
      alter function tenant_numbers_deleted() set search_path = pg_catalog, public;
      alter function tenant_numbers_floor() set search_path = pg_catalog, public;
      alter function take_contact_numbers(text, integer) set search_path = pg_catalog, public;
    `);
  }
}
