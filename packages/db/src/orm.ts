import { MikroORM, UnderscoreNamingStrategy } from "@mikro-orm/postgresql";
import type { Options } from "@mikro-orm/postgresql";
import { Migrator } from "@mikro-orm/migrations";

import { AccountChannelEntity, AccountEntity } from "./entities/account.entity.js";
import { ApiKeyEntity } from "./entities/api-key.entity.js";
import { ContactEntity } from "./entities/contact.entity.js";
import { RoleEntity } from "./entities/role.entity.js";
import { TaxIdRevealEntity } from "./entities/tax-id-reveal.entity.js";
import { TenantEntity } from "./entities/tenant.entity.js";
import { Migration20261123000001Initial } from "./migrations/Migration20261123000001_initial.js";
import { Migration20261123000002AccessControl } from "./migrations/Migration20261123000002_access_control.js";
import { Migration20261123000003Search } from "./migrations/Migration20261123000003_search.js";
import { Migration20261123000004SearchWords } from "./migrations/Migration20261123000004_search_words.js";
import { Migration20261123000007MatchKeys } from "./migrations/Migration20261123000007_match_keys.js";
import { Migration20261123000008Imports } from "./migrations/Migration20261123000008_imports.js";
import { Migration20261123000009FilterFrequency } from "./migrations/Migration20261123000009_filter_frequency.js";
import { Migration20261123000010BulkLoad } from "./migrations/Migration20261123000010_bulk_load.js";
import { Migration20261123000011ImportSourceHash } from "./migrations/Migration20261123000011_import_source_hash.js";
import { Migration20261123000012CoveringSearchIndexes } from "./migrations/Migration20261123000012_covering_search_indexes.js";
import { Migration20261123000013SearchPostings } from "./migrations/Migration20261123000013_search_postings.js";
import { Migration20261123000014PlacePostings } from "./migrations/Migration20261123000014_place_postings.js";
import { Migration20261123000015LastBulkImport } from "./migrations/Migration20261123000015_last_bulk_import.js";
import { Migration20261123000018ImportIgnoredColumns } from "./migrations/Migration20261123000018_import_ignored_columns.js";
import { Migration20261123000019ContactGroupIndex } from "./migrations/Migration20261123000019_contact_group_index.js";
import { Migration20261123000020RolodexFields } from "./migrations/Migration20261123000020_rolodex_fields.js";
import { Migration20261123000021AccountAddress } from "./migrations/Migration20261123000021_account_address.js";
import { Migration20261123000022ContactNumbers } from "./migrations/Migration20261123000022_contact_numbers.js";
import { Migration20261123000023SearchIndexMaintenance } from "./migrations/Migration20261123000023_search_index_maintenance.js";
import { Migration20261123000024DropPlaceGinIndexes } from "./migrations/Migration20261123000024_drop_place_gin_indexes.js";
import { Migration20261123000025ContactCountsOwned } from "./migrations/Migration20261123000025_contact_counts_owned.js";
import { Migration20261123000026RequestBuckets } from "./migrations/Migration20261123000026_request_buckets.js";
import { Migration20261123000027Webhooks } from "./migrations/Migration20261123000027_webhooks.js";
import { Migration20261123000005ContactEvents } from "./migrations/Migration20261123000005_contact_events.js";
import { Migration20261123000006Idempotency } from "./migrations/Migration20261123000006_idempotency.js";

/** Every entity, listed explicitly (no folder discovery). */
export const entities = [
  TenantEntity,
  ApiKeyEntity,
  RoleEntity,
  AccountEntity,
  AccountChannelEntity,
  ContactEntity,
  TaxIdRevealEntity,
];

/** Every migration in order. Committed, hand-reviewed SQL; the schema is never generated at runtime. */
export const migrations = [
  { name: "Migration20261123000001_initial", class: Migration20261123000001Initial },
  { name: "Migration20261123000002_access_control", class: Migration20261123000002AccessControl },
  { name: "Migration20261123000003_search", class: Migration20261123000003Search },
  { name: "Migration20261123000004_search_words", class: Migration20261123000004SearchWords },
  { name: "Migration20261123000005_contact_events", class: Migration20261123000005ContactEvents },
  { name: "Migration20261123000006_idempotency", class: Migration20261123000006Idempotency },
  { name: "Migration20261123000007_match_keys", class: Migration20261123000007MatchKeys },
  { name: "Migration20261123000008_imports", class: Migration20261123000008Imports },
  { name: "Migration20261123000009_filter_frequency", class: Migration20261123000009FilterFrequency },
  { name: "Migration20261123000010_bulk_load", class: Migration20261123000010BulkLoad },
  { name: "Migration20261123000011_import_source_hash", class: Migration20261123000011ImportSourceHash },
  {
    name: "Migration20261123000012_covering_search_indexes",
    class: Migration20261123000012CoveringSearchIndexes,
  },
  { name: "Migration20261123000013_search_postings", class: Migration20261123000013SearchPostings },
  { name: "Migration20261123000014_place_postings", class: Migration20261123000014PlacePostings },
  { name: "Migration20261123000015_last_bulk_import", class: Migration20261123000015LastBulkImport },
  {
    name: "Migration20261123000018_import_ignored_columns",
    class: Migration20261123000018ImportIgnoredColumns,
  },
  { name: "Migration20261123000019_contact_group_index", class: Migration20261123000019ContactGroupIndex },
  { name: "Migration20261123000020_rolodex_fields", class: Migration20261123000020RolodexFields },
  { name: "Migration20261123000021_account_address", class: Migration20261123000021AccountAddress },
  { name: "Migration20261123000022_contact_numbers", class: Migration20261123000022ContactNumbers },
  {
    name: "Migration20261123000023_search_index_maintenance",
    class: Migration20261123000023SearchIndexMaintenance,
  },
  {
    name: "Migration20261123000024_drop_place_gin_indexes",
    class: Migration20261123000024DropPlaceGinIndexes,
  },
  { name: "Migration20261123000025_contact_counts_owned", class: Migration20261123000025ContactCountsOwned },
  { name: "Migration20261123000026_request_buckets", class: Migration20261123000026RequestBuckets },
  { name: "Migration20261123000027_webhooks", class: Migration20261123000027Webhooks },
];

export interface OrmOptions {
  url: string;
  /** Connection pool size. */
  poolMax?: number;
  /**
   * Bounds of every session of the pool (the API's): a statement running, or waiting for a lock,
   * longer than this is cancelled (SQLSTATE 57014)...
   */
  statementTimeoutMs?: number;
  /** ...and a transaction left idle longer than this is ended by PostgreSQL. */
  idleInTransactionMs?: number;
  debug?: boolean;
}

/** The explicit MikroORM configuration for a database URL. */
export function ormConfig({
  url,
  poolMax = 10,
  statementTimeoutMs,
  idleInTransactionMs,
  debug = false,
}: OrmOptions): Options {
  // node-postgres sends these as the session's settings when it connects.
  const session = {
    ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
    ...(idleInTransactionMs ? { idle_in_transaction_session_timeout: idleInTransactionMs } : {}),
  };
  return {
    ...(Object.keys(session).length > 0 ? { driverOptions: { connection: session } } : {}),
    clientUrl: url,
    entities,
    discovery: { warnWhenNoEntities: true },
    namingStrategy: UnderscoreNamingStrategy,
    extensions: [Migrator],
    migrations: { migrationsList: migrations, snapshot: false, transactional: true, allOrNothing: true },
    pool: { min: 0, max: poolMax },
    forceUtcTimezone: true,
    debug,
    allowGlobalContext: false,
  };
}

/** Opens an ORM on `url`. Call `orm.close()` when done. */
export function createOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(options));
}

/** Applies every pending migration to the database at `url`. */
export async function migrate(url: string): Promise<void> {
  const orm = await createOrm({ url, poolMax: 1 });
  try {
    await orm.migrator.up();
  } finally {
    await orm.close();
  }
}

export type { MikroORM };
