import { Migration } from "@mikro-orm/migrations";

/**
 * The `group` filter of `contacts.search` (Linode marks `group` filterable): a case-insensitive
 * equality, served from this index in last-name order (the default sort) or collected from it for
 * the others, instead of walking the tenant past contacts of other groups.
 */
export class Migration20261123000019ContactGroupIndex extends Migration {
  override up(): void {
    this.addSql(`
      create index contacts_group_idx on contacts (tenant_id, lower(contact_group), sort_last, id)
        where contact_group is not null;
    `);
  }

  override down(): void {
    this.addSql(`drop index contacts_group_idx;`);
  }
}
