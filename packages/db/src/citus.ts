import type pg from "pg";

/**
 * How every table of the schema is placed on a Citus cluster (README "Scaling out"; the DDL is
 * `packages/db/citus/distribute.sql`). `citus-ready.test.ts` checks the migrated catalogue against
 * these lists: a table in none of them fails the test until it is classified here.
 */

/** The distribution column of every distributed table. */
export const DISTRIBUTION_COLUMN = "tenant_id";

/**
 * Tenant tables, sharded by `tenant_id` and co-located with `accounts` (the first one distributed),
 * so a tenant's rows of every table live on one node and a query naming one tenant runs there whole.
 */
export const DISTRIBUTED_TABLES = [
  "accounts",
  "account_channels",
  "roles",
  "contacts",
  "tax_id_reveals",
  "search_words",
  "search_postings",
  "contact_events",
  "idempotency_keys",
  "imports",
  "import_chunks",
  "import_errors",
  "tenant_contact_counts",
  "tenant_request_buckets",
  "webhook_endpoints",
  "webhook_deliveries",
  "webhook_import_txids",
] as const;

/**
 * Distributed tables kept out of the co-location group, with the reason. An unlogged table cannot
 * be moved by Citus's non-blocking (logical replication) rebalancer, which would block moving its
 * whole group; alone, it is moved with the blocking method (its rows are leases, refilled anyway).
 */
export const SEPARATELY_COLOCATED: Readonly<Record<string, string>> = {
  tenant_request_buckets: "unlogged (rate-limit leases)",
};

/**
 * Replicated to every node. `tenants` has no `tenant_id` (its `id` is the tenant) and is read with
 * every request; `api_keys` is looked up by its hash before the tenant is known, and its unique
 * `key_hash` index holds across tenants, which a distributed table cannot enforce. Both are small
 * and written rarely (a write to a reference table goes to every node).
 */
export const REFERENCE_TABLES = ["tenants", "api_keys"] as const;

/** Plain tables of the coordinator, never distributed. */
export const LOCAL_TABLES = ["mikro_orm_migrations"] as const;

/**
 * Schemas whose tables stay local on the coordinator. pg-boss's job tables are polled with
 * `for update skip locked` across every job: a distributed table would turn each poll into a
 * multi-shard locking query, which Citus does not run.
 */
export const LOCAL_SCHEMAS = ["pgboss"] as const;

/**
 * Every trigger on a distributed or reference table, with what it does there. Citus creates
 * triggers on shards only with `citus.enable_unsafe_triggers = on` and does not support triggers on
 * reference tables or statement-level triggers on distributed ones; these are what a Citus
 * deployment must rework or verify first (README "Scaling out").
 */
export const TRIGGERS: Readonly<Record<string, string>> = {
  "tenants.tenant_numbers_created":
    "row, reference table: creates the tenant's contact counter (distributed)",
  "tenants.tenant_numbers_deleted": "row, reference table: removes the tenant's counters (distributed)",
  "tenants.tenant_numbers_floor": "row, reference table: counter floor on a settings change (distributed)",
  "tenants.tenants_delete_words": "row, reference table: deletes the tenant's search words (distributed)",
  "contacts.contacts_count_insert": "statement, transition table: contact counts (co-located)",
  "contacts.contacts_count_delete": "statement, transition table: contact counts (co-located)",
  "contacts.contacts_place_keys_insert": "row, before: computes columns of the same row",
  "contacts.contacts_place_keys_update": "row, before: computes columns of the same row",
  "contacts.contacts_source_hash_reset": "row, before: clears a column of the same row",
  "contacts.contacts_words_insert": "statement, transition table: search words (co-located)",
  "contacts.contacts_words_update": "statement, transition table: search words (co-located)",
  "contacts.contacts_postings_insert": "statement, transition table: search postings (co-located)",
  "contacts.contacts_postings_update": "row, after: search postings of the row (co-located)",
  "contacts.contacts_postings_delete": "statement, transition table: search postings (co-located)",
  "imports.imports_chunk_committed": "row, after: the chunk's transaction id for webhooks (co-located)",
};

interface TableRow {
  schema: string;
  name: string;
}

/** Tables (plain and partitioned) outside PostgreSQL's own schemas and extensions' objects. */
async function userTables(client: pg.ClientBase): Promise<TableRow[]> {
  const { rows } = await client.query<TableRow>(
    `select n.nspname as schema, c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
        and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                        and d.objid = c.oid and d.deptype = 'e')
      order by 1, 2`,
  );
  return rows;
}

const distributed = new Set<string>(DISTRIBUTED_TABLES);
const reference = new Set<string>(REFERENCE_TABLES);
const local = new Set<string>(LOCAL_TABLES);

type Placement = "distributed" | "reference" | "local";

function placementOf(schema: string, name: string): Placement | null {
  if ((LOCAL_SCHEMAS as readonly string[]).includes(schema)) return "local";
  if (schema !== "public") return null;
  if (distributed.has(name)) return "distributed";
  if (reference.has(name)) return "reference";
  if (local.has(name)) return "local";
  return null;
}

/**
 * What keeps the migrated schema at `client` from being distributed as the lists above say, one
 * sentence per problem (empty: none): unclassified or missing tables; a distributed table without
 * a NOT NULL `tenant_id` of the tenants' id type; a primary key, unique or exclusion constraint or
 * unique index of a distributed table without `tenant_id`; a foreign key between distributed tables
 * that does not pair `tenant_id` with `tenant_id`, or one to a separately co-located table; a
 * foreign key from a reference table to a distributed one, or between a local table and any other;
 * `SET NULL`/`SET DEFAULT`/`ON UPDATE` actions on a distributed table's foreign key; a trigger not
 * listed in `TRIGGERS`.
 */
export async function citusSchemaProblems(client: pg.ClientBase): Promise<string[]> {
  const problems: string[] = [];
  const tables = await userTables(client);
  const present = new Set(tables.filter((t) => t.schema === "public").map((t) => t.name));
  for (const t of tables) {
    if (!placementOf(t.schema, t.name))
      problems.push(
        `${t.schema}.${t.name} is not classified (distributed, reference or local: packages/db/src/citus.ts)`,
      );
  }
  for (const name of [...distributed, ...reference, ...local]) {
    if (!present.has(name)) problems.push(`${name} is classified but does not exist`);
  }

  const { rows: columns } = await client.query<{
    table: string;
    type: string | null;
    notnull: boolean | null;
  }>(
    `select c.relname as table, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull
       from pg_class c
       left join pg_attribute a on a.attrelid = c.oid and a.attname = $1 and not a.attisdropped
      where c.relnamespace = 'public'::regnamespace and c.relname = any($2)`,
    [DISTRIBUTION_COLUMN, [...distributed, "tenants"]],
  );
  const tenantIdType = (
    await client.query<{ type: string }>(
      `select format_type(atttypid, atttypmod) as type from pg_attribute
        where attrelid = 'public.tenants'::regclass and attname = 'id'`,
    )
  ).rows[0]?.type;
  for (const c of columns) {
    if (c.table === "tenants") {
      if (c.type) problems.push("tenants has a tenant_id column: the reference table is keyed by id");
      continue;
    }
    if (!c.type) problems.push(`${c.table} lacks tenant_id`);
    else {
      if (!c.notnull)
        problems.push(`${c.table}.tenant_id may be null (Citus refuses a null distribution value)`);
      if (c.type !== tenantIdType)
        problems.push(
          `${c.table}.tenant_id is ${c.type}, tenants.id is ${tenantIdType} (co-location needs one type)`,
        );
    }
  }

  // Unique indexes cover primary keys, unique and (unique) exclusion constraints and plain unique
  // indexes, partial or not; exclusion constraints are added separately (their index is not unique).
  const { rows: uniques } = await client.query<{ table: string; name: string; has_tenant: boolean }>(
    `select c.relname as table, i.indexrelid::regclass::text as name,
            exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = $1
                    and a.attnum = any(i.indkey::int2[])) as has_tenant
       from pg_index i join pg_class c on c.oid = i.indrelid
      where c.relnamespace = 'public'::regnamespace and c.relname = any($2)
        and (i.indisunique or i.indisexclusion)`,
    [DISTRIBUTION_COLUMN, [...distributed]],
  );
  for (const u of uniques) {
    if (!u.has_tenant)
      problems.push(
        `${u.table}: unique key ${u.name} does not include tenant_id (Citus cannot enforce it across shards)`,
      );
  }

  const { rows: fks } = await client.query<{
    name: string;
    from_schema: string;
    from_table: string;
    to_schema: string;
    to_table: string;
    pairs: string[];
    on_delete: string;
    on_update: string;
  }>(
    `select con.conname as name, fn.nspname as from_schema, f.relname as from_table,
            tn.nspname as to_schema, t.relname as to_table,
            array(select fa.attname || '=' || ta.attname
                    from unnest(con.conkey, con.confkey) k(f, t)
                    join pg_attribute fa on fa.attrelid = con.conrelid and fa.attnum = k.f
                    join pg_attribute ta on ta.attrelid = con.confrelid and ta.attnum = k.t) as pairs,
            con.confdeltype as on_delete, con.confupdtype as on_update
       from pg_constraint con
       join pg_class f on f.oid = con.conrelid join pg_namespace fn on fn.oid = f.relnamespace
       join pg_class t on t.oid = con.confrelid join pg_namespace tn on tn.oid = t.relnamespace
      where con.contype = 'f' and fn.nspname not in ('pg_catalog', 'information_schema')`,
  );
  for (const fk of fks) {
    const from = placementOf(fk.from_schema, fk.from_table);
    const to = placementOf(fk.to_schema, fk.to_table);
    const label = `${fk.from_table}.${fk.name} -> ${fk.to_table}`;
    if (!from || !to) continue; // reported as unclassified above
    if (from === "local" || to === "local") {
      if (from !== to) problems.push(`${label}: a foreign key between a local table and a Citus table`);
      continue;
    }
    if (from === "reference" && to === "distributed")
      problems.push(`${label}: a reference table cannot reference a distributed table`);
    if (from === "distributed" && to === "distributed") {
      if (!fk.pairs.includes(`${DISTRIBUTION_COLUMN}=${DISTRIBUTION_COLUMN}`))
        problems.push(`${label}: a foreign key between tenant tables without tenant_id = tenant_id`);
      const apart = [fk.from_table, fk.to_table].filter((t) => t in SEPARATELY_COLOCATED);
      if (apart.length === 1) problems.push(`${label}: ${apart[0]} is not co-located with the other tables`);
    }
    if (from === "distributed") {
      if (fk.on_delete === "n" || fk.on_delete === "d")
        problems.push(`${label}: ON DELETE SET NULL/SET DEFAULT on a distributed table's foreign key`);
      if (fk.on_update !== "a" && fk.on_update !== "r")
        problems.push(`${label}: an ON UPDATE action on a distributed table's foreign key`);
    }
  }

  const { rows: triggers } = await client.query<{ name: string }>(
    `select c.relname || '.' || t.tgname as name
       from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where not t.tgisinternal and c.relnamespace = 'public'::regnamespace and c.relname = any($1)`,
    [[...distributed, ...reference]],
  );
  const listed = new Set(Object.keys(TRIGGERS));
  for (const t of triggers) {
    if (!listed.has(t.name))
      problems.push(`trigger ${t.name} is not listed in TRIGGERS (packages/db/src/citus.ts)`);
    listed.delete(t.name);
  }
  for (const name of listed) problems.push(`trigger ${name} is listed in TRIGGERS but does not exist`);
  return problems;
}

/** A query as node-postgres takes it (sql-template-tag's `Sql` is one). */
export interface QueryText {
  text: string;
  values: unknown[];
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Alias?: string;
  "Index Cond"?: string;
  "Recheck Cond"?: string;
  Filter?: string;
  "TID Cond"?: string;
  Plans?: PlanNode[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Why `query` would not run on the one shard of `tenantId` on Citus (empty: it would): its plan
 * (`EXPLAIN (VERBOSE)` with its values bound, on `client`: run as the owner, which row-level
 * security does not filter, so only the query's own conditions count) must scan every distributed
 * table restricted by `tenant_id = <that tenant>`, directly or through an equality with another
 * table's `tenant_id` (PostgreSQL's planner then gives each table the constant). A join of two
 * tenant tables on anything else, or a subquery reading another table without the tenant, shows up
 * as a scan without it: exactly what Citus's router planner needs. Not seen: the rows an INSERT's
 * VALUES carry, and SQL run inside functions and triggers.
 */
export async function singleTenantPlanProblems(
  client: pg.ClientBase,
  query: QueryText,
  tenantId: string,
): Promise<string[]> {
  const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
    `explain (verbose, format json) ${query.text}`,
    query.values,
  );
  const literal = escapeRegExp(`'${tenantId.replaceAll("'", "''")}'::text`);
  const problems: string[] = [];
  const walk = (node: PlanNode): void => {
    const table = node["Relation Name"];
    if (table && distributed.has(table) && !node["Node Type"].startsWith("ModifyTable")) {
      const alias = escapeRegExp(node.Alias ?? table);
      const condition = new RegExp(
        `\\b${alias}\\.${DISTRIBUTION_COLUMN} = ${literal}|${literal} = ${alias}\\.${DISTRIBUTION_COLUMN}\\b`,
      );
      const quals = [node["Index Cond"], node["Recheck Cond"], node.Filter, node["TID Cond"]];
      if (!quals.some((q) => q !== undefined && condition.test(q)))
        problems.push(`${node["Node Type"]} on ${table} ${node.Alias ?? ""} is not restricted to the tenant`);
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  const [explained] = rows;
  if (!explained) throw new Error("EXPLAIN returned no plan");
  walk(explained["QUERY PLAN"][0].Plan);
  return problems;
}
