import { Migration } from "@mikro-orm/migrations";

/**
 * The hash of the source record an import last wrote a contact from (with the file's header and
 * mapping). A re-import finds a record whose hash is the stored one and skips validating and
 * comparing it: the contact is as that record made it. Any other write clears the hash (a trigger),
 * so a contact changed since is compared again.
 */
export class Migration20261123000011ImportSourceHash extends Migration {
  override up(): void {
    this.addSql(`
      alter table contacts add column import_source_hash text;
      create function contacts_source_hash_reset() returns trigger language plpgsql as $fn$
      begin
        -- An import's write brings its own new hash; every other write clears the old one.
        if new.import_source_hash is not distinct from old.import_source_hash then
          new.import_source_hash := null;
        end if;
        return new;
      end $fn$;
      create trigger contacts_source_hash_reset before update on contacts for each row
        when (old.import_source_hash is not null)
        execute function contacts_source_hash_reset();
    `);
  }

  override down(): void {
    this.addSql(`
      drop trigger contacts_source_hash_reset on contacts;
      drop function contacts_source_hash_reset();
      alter table contacts drop column import_source_hash;
    `);
  }
}
