import { Migration } from "@mikro-orm/migrations";

import { APP_ROLE } from "./Migration20261123000002_access_control.js";

/** Tenant tables this migration adds (row-level security forced, as on the others). */
export const IMPORT_TENANT_TABLES = ["imports", "import_chunks", "import_errors"] as const;

/**
 * Bulk CSV import:
 * - `imports`: one row per import: its options, the limits it runs under, its state, counters and
 *   the checkpoint (the last record number whose chunk committed). `options_key` (the file's
 *   SHA-256 with the options) makes a second upload of the same file with the same options answer
 *   with the first import; `idempotency_key` does the same for a retried upload.
 * - `import_chunks`: the uploaded file itself, in order, in PostgreSQL (any worker on any machine
 *   can take the job; nothing on a local disk).
 * - `import_errors`: one row per rejected value (record number, column, reason, value masked when
 *   it is personal data).
 * - Contacts' external ids become unique per tenant: the upsert matches on them.
 */
export class Migration20261123000008Imports extends Migration {
  override up(): void {
    this.addSql(`
      create table imports (
        tenant_id text not null references tenants (id) on delete cascade,
        id uuid not null,
        state text not null default 'queued'
          check (state in ('queued', 'running', 'completed', 'failed', 'cancelled')),
        mode text not null check (mode in ('insert', 'upsert')),
        match_on text not null default 'externalId' check (match_on in ('externalId', 'email')),
        dry_run boolean not null default false,
        account_id uuid,
        mapping jsonb not null default '{}',
        delimiter text,
        file_name text not null,
        file_sha256 text not null,
        file_bytes bigint not null,
        options_key text not null,
        idempotency_key text,
        limits jsonb not null,
        checkpoint bigint not null default 0,
        total_records bigint,
        processed bigint not null default 0,
        inserted bigint not null default 0,
        updated bigint not null default 0,
        unchanged bigint not null default 0,
        failed bigint not null default 0,
        cancel_requested boolean not null default false,
        failure text,
        created_by text not null,
        created_at timestamptz not null default now(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id)
      );
      create unique index imports_options_key on imports (tenant_id, options_key);
      create unique index imports_idempotency_key on imports (tenant_id, idempotency_key)
        where idempotency_key is not null;
      create index imports_created_idx on imports (tenant_id, created_at desc, id desc);

      create table import_chunks (
        tenant_id text not null,
        import_id uuid not null,
        seq integer not null,
        data bytea not null,
        primary key (tenant_id, import_id, seq),
        foreign key (tenant_id, import_id) references imports (tenant_id, id) on delete cascade
      );

      create table import_errors (
        tenant_id text not null,
        import_id uuid not null,
        record_number bigint not null,
        seq smallint not null,
        column_name text,
        reason text not null,
        value text,
        primary key (tenant_id, import_id, record_number, seq),
        foreign key (tenant_id, import_id) references imports (tenant_id, id) on delete cascade
      );

      drop index contacts_external_id_idx;
      create unique index contacts_external_id_key on contacts (tenant_id, external_id)
        where external_id is not null;
      create index contacts_import_idx on contacts (tenant_id, import_id, import_record_number)
        where import_id is not null;

      grant select, insert, update on imports to ${APP_ROLE};
      grant select, insert on import_chunks, import_errors to ${APP_ROLE};
    `);
    for (const table of IMPORT_TENANT_TABLES) {
      this.addSql(`
        alter table ${table} enable row level security;
        alter table ${table} force row level security;
        create policy tenant_isolation on ${table}
          using (tenant_id = current_setting('app.tenant_id', true))
          with check (tenant_id = current_setting('app.tenant_id', true));
      `);
    }
  }

  override down(): void {
    this.addSql(`
      drop index contacts_import_idx;
      drop index contacts_external_id_key;
      create index contacts_external_id_idx on contacts (tenant_id, external_id) where external_id is not null;
      drop table import_errors;
      drop table import_chunks;
      drop table imports;
    `);
  }
}
