-- Distributes the contacts schema on Citus by tenant (README "Scaling out").
--
-- Run once, as a superuser, on the coordinator of a Citus cluster (citus in shared_preload_libraries
-- on every node, `create extension citus` in the database, workers added with citus_add_node), in
-- this database after the service's migrations have run and before the tables hold much data:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f packages/db/citus/distribute.sql
--
-- The placements are those of packages/db/src/citus.ts; packages/db/src/citus-ready.test.ts runs
-- this file against stand-in functions and fails when the two disagree. pg-boss's schema and
-- mikro_orm_migrations are not named: they stay local tables on the coordinator.
--
-- Verified on this machine: this file runs (syntax, every table exists, order of foreign keys).
-- Not verified: a run on Citus itself (no Citus package for the local PostgreSQL here), in
-- particular the triggers listed in citus.ts (Citus refuses triggers on reference tables and
-- statement-level triggers on distributed tables).

begin;

-- Triggers on distributed tables are created on their shards only with this setting.
set local citus.enable_unsafe_triggers = on;

-- The tenant of a transaction reaches the workers' row-level-security policies only if SET LOCAL
-- commands are propagated (see README: the application then sets it with SET LOCAL).
do $$ begin
  execute format('alter database %I set citus.propagate_set_commands = %L', current_database(), 'local');
end $$;

-- Reference tables: replicated to every node (small, read everywhere, written rarely).
select create_reference_table('tenants');
select create_reference_table('api_keys');

-- Tenant tables, by tenant_id, in one co-location group; referenced tables first.
select create_distributed_table('accounts', 'tenant_id');
select create_distributed_table('account_channels', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('roles', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('contacts', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('tax_id_reveals', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('search_words', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('search_postings', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('contact_events', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('idempotency_keys', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('imports', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('import_chunks', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('import_errors', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('tenant_contact_counts', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('webhook_endpoints', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('webhook_deliveries', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('webhook_import_txids', 'tenant_id', colocate_with => 'accounts');

-- Unlogged: in a group of its own, so the non-blocking rebalancer can still move the others.
select create_distributed_table('tenant_request_buckets', 'tenant_id', colocate_with => 'none');

commit;
