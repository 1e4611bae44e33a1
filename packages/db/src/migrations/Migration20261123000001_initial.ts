import { Migration } from "@mikro-orm/migrations";

/**
 * Tenants, API keys, the role catalogue, accounts with channels, and contacts. `tenant_id` leads
 * every primary and foreign key so the schema can be sharded by tenant (Citus distribution column).
 */
export class Migration20261123000001Initial extends Migration {
  override up(): void {
    this.addSql(`
      create table tenants (
        id text primary key,
        name text not null,
        settings jsonb not null,
        contact_seq bigint not null default 0,
        created_at timestamptz not null default now()
      );

      create table api_keys (
        tenant_id text not null references tenants (id) on delete cascade,
        id uuid not null,
        name text not null,
        prefix text not null,
        key_hash text not null,
        permissions text[] not null,
        created_at timestamptz not null default now(),
        created_by text not null,
        last_used_at timestamptz,
        expires_at timestamptz,
        revoked_at timestamptz,
        primary key (tenant_id, id)
      );
      create unique index api_keys_key_hash_key on api_keys (key_hash);

      create table roles (
        tenant_id text not null references tenants (id) on delete cascade,
        code text not null,
        description text,
        created_at timestamptz not null default now(),
        primary key (tenant_id, code)
      );

      create table accounts (
        tenant_id text not null references tenants (id) on delete cascade,
        id uuid not null,
        type text not null,
        key text not null,
        name text not null,
        parent_id uuid,
        version integer not null default 1,
        created_at timestamptz not null,
        created_by text not null,
        updated_at timestamptz not null,
        updated_by text not null,
        primary key (tenant_id, id),
        unique (tenant_id, type, key),
        foreign key (tenant_id, parent_id) references accounts (tenant_id, id)
      );
      create index accounts_parent_idx on accounts (tenant_id, parent_id) where parent_id is not null;

      create table account_channels (
        tenant_id text not null,
        id uuid not null,
        account_id uuid not null,
        label text not null check (label in ('general', 'service_desk', 'fax', 'service_desk_fax')),
        telephone text,
        email text,
        website text,
        integration boolean not null default false,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, account_id) references accounts (tenant_id, id) on delete cascade,
        check (num_nonnulls(telephone, email, website) = 1)
      );
      create index account_channels_account_idx on account_channels (tenant_id, account_id);

      create table contacts (
        tenant_id text not null references tenants (id) on delete cascade,
        id uuid not null,
        number bigint not null,
        subtype text not null check (subtype in ('person', 'company')),
        prefix text,
        first_name text,
        middle_name text,
        last_name text,
        suffix text,
        nickname text,
        maiden_name text,
        credentials text,
        job_title text,
        company_name text,
        username text,
        contact_group text,
        account_id uuid,
        roles text[] not null default '{}',
        emails jsonb not null default '[]',
        phones jsonb not null default '[]',
        addresses jsonb not null default '[]',
        preferred_phone_label text,
        preferred_address_label text,
        tax_id text,
        gender text,
        pronouns text,
        date_of_birth date,
        date_of_death date,
        status text not null check (status in ('active', 'inactive', 'duplicate', 'deceased')),
        notes text,
        social jsonb not null default '{}',
        notification_preferences jsonb not null default '{}',
        user_ids text[] not null default '{}',
        portal_delegates uuid[] not null default '{}',
        spouse_id uuid,
        merged_ids uuid[] not null default '{}',
        custom_fields jsonb not null default '{}',
        external_id text,
        origin_service text,
        locked boolean not null default false,
        integration boolean not null default false,
        version integer not null default 1,
        created_at timestamptz not null,
        created_by text not null,
        updated_at timestamptz not null,
        updated_by text not null,
        import_id uuid,
        import_record_number integer,
        import_source_file text,
        loaded_at timestamptz,
        primary key (tenant_id, id),
        unique (tenant_id, number),
        foreign key (tenant_id, account_id) references accounts (tenant_id, id),
        foreign key (tenant_id, spouse_id) references contacts (tenant_id, id)
      );
      create index contacts_account_idx on contacts (tenant_id, account_id) where account_id is not null;
      create index contacts_spouse_idx on contacts (tenant_id, spouse_id) where spouse_id is not null;
      create index contacts_external_id_idx on contacts (tenant_id, external_id) where external_id is not null;
    `);
  }

  override down(): void {
    this.addSql(`
      drop table contacts;
      drop table account_channels;
      drop table accounts;
      drop table roles;
      drop table api_keys;
      drop table tenants;
    `);
  }
}
