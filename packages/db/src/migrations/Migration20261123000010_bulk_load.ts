import { Migration } from "@mikro-orm/migrations";

/**
 * Cheaper bulk loads (the import worker inserts thousands of contacts per statement):
 * - Place keys: the row trigger now runs on insert only when the keys are left out (the API's
 *   inserts: the columns lost their default, so an insert that omits them brings nulls) and on every
 *   update of the addresses. A bulk insert computes them in its own SELECT with the trigger's
 *   expression (a quarter of the cost of the PL/pgSQL call per row).
 * - The word dictionary (`search_words`) is derived data: its foreign key to the tenant made every
 *   new word take a key-share lock on the tenant row. It goes; deleting a tenant deletes its words
 *   through a trigger instead of the cascade.
 */
export class Migration20261123000010BulkLoad extends Migration {
  override up(): void {
    this.addSql(`
      drop trigger contacts_place_keys on contacts;
      alter table contacts alter column city_keys drop default, alter column state_keys drop default,
        alter column country_keys drop default;
      create trigger contacts_place_keys_insert before insert on contacts for each row
        when (new.city_keys is null or new.state_keys is null or new.country_keys is null)
        execute function contacts_place_keys();
      create trigger contacts_place_keys_update before update of addresses on contacts for each row
        execute function contacts_place_keys();

      alter table search_words drop constraint search_words_tenant_id_fkey;
      create function tenants_delete_words() returns trigger language plpgsql as $fn$
      begin
        delete from search_words where tenant_id = old.id;
        return old;
      end $fn$;
      create trigger tenants_delete_words after delete on tenants for each row
        execute function tenants_delete_words();
    `);
  }

  override down(): void {
    this.addSql(`
      drop trigger tenants_delete_words on tenants;
      drop function tenants_delete_words();
      delete from search_words w where not exists (select 1 from tenants t where t.id = w.tenant_id);
      alter table search_words add constraint search_words_tenant_id_fkey
        foreign key (tenant_id) references tenants (id) on delete cascade;
      drop trigger contacts_place_keys_update on contacts;
      drop trigger contacts_place_keys_insert on contacts;
      alter table contacts alter column city_keys set default '{}', alter column state_keys set default '{}',
        alter column country_keys set default '{}';
      create trigger contacts_place_keys before insert or update of addresses on contacts
        for each row execute function contacts_place_keys();
    `);
  }
}
