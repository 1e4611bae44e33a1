import { Migration } from "@mikro-orm/migrations";

/** Tables holding tenant data: each gets row-level security, forced, keyed on its tenant column. */
export const TENANT_TABLES = [
  "tenants",
  "api_keys",
  "roles",
  "accounts",
  "account_channels",
  "contacts",
  "tax_id_reveals",
] as const;

/** The group role the application's connections act as: no ownership, no superuser, no BYPASSRLS. */
export const APP_ROLE = "contacts_app";

/** The tenant a transaction works for; set with `set_config('app.tenant_id', $1, true)`. */
const TENANT = "current_setting('app.tenant_id', true)";

/**
 * Access control in the database:
 * - row-level security, FORCEd (the owner is bound too), on every tenant table; the policies read
 *   the transaction's tenant, so a connection that set none sees and writes nothing;
 * - the `contacts_app` role with only the grants the API needs (reveal records are append-only);
 * - tax IDs encrypted: ciphertext + key id + a per-tenant blind index replace the plaintext column
 *   (`tax_id` stays until `contacts-admin keys rotate` has encrypted rows written before this
 *   migration; nothing writes it any more);
 * - the lower-cased email addresses of a contact as an indexed generated column;
 * - a contact counter on the tenant, kept by a statement-level trigger, for the contact limit;
 * - the record of every unmasked tax-ID read.
 */
export class Migration20261123000002AccessControl extends Migration {
  override up(): void {
    this.addSql(`
      do $$ begin
        create role ${APP_ROLE} nologin nosuperuser nobypassrls nocreatedb nocreaterole;
      exception when duplicate_object or unique_violation then null;
      end $$;

      alter table tenants add column contact_count bigint not null default 0;
      update tenants t set contact_count = (select count(*) from contacts c where c.tenant_id = t.id);

      alter table contacts
        add column tax_id_ciphertext text,
        add column tax_id_key_id text,
        add column tax_id_index text;
      create index contacts_tax_id_index_idx on contacts (tenant_id, tax_id_index) where tax_id_index is not null;
      create index contacts_tax_id_key_idx on contacts (tax_id_key_id) where tax_id_key_id is not null;
      create index contacts_tax_id_legacy_idx on contacts (tenant_id) where tax_id is not null;
      -- Lower-cased addresses of every email, for lookups by address (GIN: @> jsonb_build_array(...)).
      alter table contacts add column email_keys jsonb
        generated always as (lower(jsonb_path_query_array(emails, '$[*].address')::text)::jsonb) stored;
      create index contacts_email_keys_idx on contacts using gin (email_keys jsonb_path_ops);
      create index contacts_user_ids_idx on contacts using gin (user_ids);

      create table tax_id_reveals (
        tenant_id text not null references tenants (id) on delete cascade,
        id uuid not null,
        contact_id uuid not null,
        revealed_by text not null,
        revealed_at timestamptz not null default now(),
        request_id text,
        via text not null,
        primary key (tenant_id, id)
      );
      create index tax_id_reveals_contact_idx on tax_id_reveals (tenant_id, contact_id, revealed_at);
      create index tax_id_reveals_time_idx on tax_id_reveals (tenant_id, revealed_at);

      create function contacts_count_changed() returns trigger language plpgsql as $fn$
      begin
        if tg_op = 'INSERT' then
          update tenants t set contact_count = t.contact_count + n.c
            from (select tenant_id, count(*) c from inserted group by tenant_id) n where t.id = n.tenant_id;
        else
          update tenants t set contact_count = t.contact_count - n.c
            from (select tenant_id, count(*) c from deleted group by tenant_id) n where t.id = n.tenant_id;
        end if;
        return null;
      end $fn$;
      create trigger contacts_count_insert after insert on contacts
        referencing new table as inserted for each statement execute function contacts_count_changed();
      create trigger contacts_count_delete after delete on contacts
        referencing old table as deleted for each statement execute function contacts_count_changed();

      grant usage on schema public to ${APP_ROLE};
      grant select, update on tenants to ${APP_ROLE};
      grant insert on tenants to ${APP_ROLE};
      grant select, insert, update on api_keys to ${APP_ROLE};
      grant select, insert, update, delete on roles, accounts, account_channels, contacts to ${APP_ROLE};
      grant select, insert on tax_id_reveals to ${APP_ROLE};
    `);

    for (const table of TENANT_TABLES) {
      const column = table === "tenants" ? "id" : "tenant_id";
      this.addSql(`
        alter table ${table} enable row level security;
        alter table ${table} force row level security;
        create policy tenant_isolation on ${table}
          using (${column} = ${TENANT}) with check (${column} = ${TENANT});
      `);
    }
    // Authentication finds a key before it knows the tenant: a transaction that presents a key's
    // hash may read that one row (and only holders of the secret can compute the hash).
    this.addSql(`
      create policy key_lookup on api_keys for select
        using (key_hash = current_setting('app.api_key_hash', true));
    `);
  }

  override down(): void {
    for (const table of TENANT_TABLES.filter((t) => t !== "tax_id_reveals")) {
      this.addSql(`
        drop policy tenant_isolation on ${table};
        alter table ${table} no force row level security;
        alter table ${table} disable row level security;
      `);
    }
    this.addSql(`
      drop policy key_lookup on api_keys;
      drop table tax_id_reveals;
      drop trigger contacts_count_insert on contacts;
      drop trigger contacts_count_delete on contacts;
      drop function contacts_count_changed();
      alter table contacts drop column email_keys;
      drop index contacts_user_ids_idx;
      alter table contacts drop column tax_id_ciphertext, drop column tax_id_key_id, drop column tax_id_index;
      alter table tenants drop column contact_count;
      revoke all on all tables in schema public from ${APP_ROLE};
      revoke usage on schema public from ${APP_ROLE};
    `);
  }
}
