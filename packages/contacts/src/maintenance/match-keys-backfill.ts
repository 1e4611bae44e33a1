import { duplicateKeys, matchKeyList } from "@contacts/domain/duplicates";
import type { DuplicateKeySource } from "@contacts/domain/duplicates";
import pg from "pg";

export interface BackfillProgress {
  /** Contacts read so far. */
  scanned: number;
  /** Contacts whose match keys were written. */
  updated: number;
}

interface Row {
  tenant_id: string;
  id: string;
  version: number;
  subtype: DuplicateKeySource["subtype"];
  first_name: string | null;
  last_name: string | null;
  company_name: string | null;
  emails: DuplicateKeySource["emails"];
  phones: DuplicateKeySource["phones"];
  addresses: DuplicateKeySource["addresses"];
  match_keys: string[];
}

/**
 * Writes the duplicate-detection match keys of every contact whose stored keys differ from what its
 * data gives (contacts written before match keys existed, or loaded by SQL such as the benchmark
 * seed). Walks all tenants in primary-key order, `batchSize` contacts per transaction; a contact
 * changed since it was read keeps the keys its writer stored (the update checks the version). Needs
 * an owner that bypasses row-level security, like key rotation. Safe to stop and rerun.
 */
export async function backfillMatchKeys(
  ownerUrl: string,
  options: { batchSize?: number; onProgress?: (progress: BackfillProgress) => void } = {},
): Promise<BackfillProgress> {
  const batchSize = options.batchSize ?? 1000;
  const client = new pg.Client({ connectionString: ownerUrl, application_name: "contacts-match-keys" });
  await client.connect();
  try {
    const role = await client.query<{ bypass: boolean }>(
      "select rolsuper or rolbypassrls as bypass from pg_roles where rolname = current_user",
    );
    if (!role.rows[0]?.bypass)
      throw new Error("the backfill spans tenants: run it as a role with BYPASSRLS (or the superuser)");
    const progress: BackfillProgress = { scanned: 0, updated: 0 };
    let after = { tenantId: "", id: "00000000-0000-0000-0000-000000000000" };
    for (;;) {
      const { rows } = await client.query<Row>(
        `select tenant_id, id, version, subtype, first_name, last_name, company_name, emails, phones,
                addresses, match_keys
           from contacts where (tenant_id, id) > ($1, $2::uuid) order by tenant_id, id limit $3`,
        [after.tenantId, after.id, batchSize],
      );
      const last = rows.at(-1);
      if (!last) return progress;
      const changed = rows.flatMap((row) => {
        const keys = matchKeyList(
          duplicateKeys({
            subtype: row.subtype,
            firstName: row.first_name,
            lastName: row.last_name,
            companyName: row.company_name,
            emails: row.emails,
            phones: row.phones,
            addresses: row.addresses,
          }),
        );
        const same = keys.length === row.match_keys.length && keys.every((k, i) => k === row.match_keys[i]);
        return same ? [] : [{ tenant_id: row.tenant_id, id: row.id, version: row.version, keys }];
      });
      if (changed.length) {
        const result = await client.query(
          `update contacts c set match_keys = x.keys
             from jsonb_to_recordset($1::jsonb) as x(tenant_id text, id uuid, version int, keys text[])
            where c.tenant_id = x.tenant_id and c.id = x.id and c.version = x.version`,
          [JSON.stringify(changed)],
        );
        progress.updated += result.rowCount ?? 0;
      }
      progress.scanned += rows.length;
      options.onProgress?.({ ...progress });
      after = { tenantId: last.tenant_id, id: last.id };
    }
  } finally {
    await client.end();
  }
}
