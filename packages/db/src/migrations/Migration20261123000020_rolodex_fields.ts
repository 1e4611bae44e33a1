import { Migration } from "@mikro-orm/migrations";

/**
 * The rolodex fields a contact was missing (seed 004): salutation, image URL, the links of the work
 * address and phone to the account, communication preferences with their last-confirmed time, and
 * the date the profile was last updated. Times are kept as the ISO 8601 text the domain normalizes
 * them to (UTC, milliseconds), so a document reads back exactly as it was written.
 */
export class Migration20261123000020RolodexFields extends Migration {
  override up(): void {
    this.addSql(`alter table contacts
      add column salutation text,
      add column image_url text,
      add column link_work_address_to_account boolean not null default false,
      add column link_work_phone_to_account boolean not null default false,
      add column communication_preferences text[] not null default '{}',
      add column communication_preferences_last_confirmed text,
      add column date_profile_last_updated text;`);
  }

  override down(): void {
    this.addSql(`alter table contacts
      drop column salutation,
      drop column image_url,
      drop column link_work_address_to_account,
      drop column link_work_phone_to_account,
      drop column communication_preferences,
      drop column communication_preferences_last_confirmed,
      drop column date_profile_last_updated;`);
  }
}
