import { Migration } from "@mikro-orm/migrations";

/**
 * An account's postal address (the rolodex organization's), which contacts linked to it
 * (`link_work_address_to_account`) take as their work address. Null: the account has none.
 */
export class Migration20261123000021AccountAddress extends Migration {
  override up(): void {
    this.addSql(`alter table accounts add column address jsonb;`);
  }

  override down(): void {
    this.addSql(`alter table accounts drop column address;`);
  }
}
