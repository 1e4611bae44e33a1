import pg from "pg";

import type { TaxIdVault } from "@contacts/db/crypto/tax-id-vault";

export interface RotationProgress {
  /** Rows re-encrypted so far. */
  done: number;
  /** Rows still to do when the run started. */
  total: number;
}

export interface RotationResult extends RotationProgress {
  /** Rows still not under the current key at the end (written meanwhile by a process on an old key). */
  remaining: number;
}

/**
 * Re-encrypts, in batches of `batchSize` rows (one transaction each), every tax ID not under the
 * vault's current key, including plaintext left from before encryption existed (the legacy
 * `tax_id` column, cleared as it is encrypted). Blind indexes are recomputed on the way. Runs on
 * the owner's connection: it works across tenants, so it needs an owner that bypasses row-level
 * security (the embedded server's superuser does); checked first. Safe to stop and rerun: each
 * batch commits on its own. Rows an API transaction holds are waited for, not skipped. Restart the
 * API processes with the new current key first: a process still on the old key writes rows the run
 * then reports as `remaining`.
 */
export async function rotateTaxIdKeys(
  ownerUrl: string,
  vault: TaxIdVault,
  options: { batchSize?: number; onProgress?: (progress: RotationProgress) => void } = {},
): Promise<RotationResult> {
  const batchSize = options.batchSize ?? 500;
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const role = await client.query<{ bypass: boolean }>(
      "select rolsuper or rolbypassrls as bypass from pg_roles where rolname = current_user",
    );
    if (!role.rows[0]?.bypass) {
      throw new Error("key rotation spans tenants: run it as a role with BYPASSRLS (or the superuser)");
    }
    const pending = `(tax_id is not null or (tax_id_ciphertext is not null and tax_id_key_id <> $1))`;
    const counted = await client.query<{ n: string }>(`select count(*) n from contacts where ${pending}`, [
      vault.currentKeyId,
    ]);
    const progress = { done: 0, total: Number(counted.rows[0]?.n ?? 0) };
    for (;;) {
      await client.query("begin");
      try {
        const batch = await client.query<{
          tenant_id: string;
          id: string;
          tax_id: string | null;
          tax_id_ciphertext: string | null;
        }>(
          `select tenant_id, id, tax_id, tax_id_ciphertext from contacts where ${pending}
           limit $2 for update`,
          [vault.currentKeyId, batchSize],
        );
        if (batch.rows.length === 0) {
          await client.query("commit");
          break;
        }
        const updates = batch.rows.map((row) => {
          const context = { tenantId: row.tenant_id, contactId: row.id };
          // The ciphertext is authoritative; the legacy column only counts where there is none.
          const plaintext = row.tax_id_ciphertext
            ? vault.decrypt(row.tax_id_ciphertext, context)
            : (row.tax_id ?? "");
          const { ciphertext, keyId } = vault.encrypt(plaintext, context);
          return { ...context, ciphertext, keyId, index: vault.blindIndex(plaintext, row.tenant_id) };
        });
        await client.query(
          `update contacts c set tax_id = null, tax_id_ciphertext = u.ciphertext, tax_id_key_id = u.key_id,
             tax_id_index = u.index
           from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[])
             as u(tenant_id, id, ciphertext, key_id, index)
           where c.tenant_id = u.tenant_id and c.id = u.id`,
          [
            updates.map((u) => u.tenantId),
            updates.map((u) => u.contactId),
            updates.map((u) => u.ciphertext),
            updates.map((u) => u.keyId),
            updates.map((u) => u.index),
          ],
        );
        await client.query("commit");
        progress.done += updates.length;
        options.onProgress?.({ ...progress });
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
    }
    const left = await client.query<{ n: string }>(`select count(*) n from contacts where ${pending}`, [
      vault.currentKeyId,
    ]);
    return { ...progress, remaining: Number(left.rows[0]?.n ?? 0) };
  } finally {
    await client.end();
  }
}
