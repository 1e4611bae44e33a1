import type { EntityManager } from "@mikro-orm/postgresql";

/**
 * Binds the current transaction of `tx` to a tenant: `app.tenant_id` is set for this transaction
 * only (`set_config(..., true)`), and the row-level security policies read it.
 */
export async function inTenantTransaction(tx: EntityManager, tenantId: string): Promise<void> {
  await tx.execute("select set_config('app.tenant_id', ?, true)", [tenantId]);
}

/**
 * Runs `fn` in a transaction bound to one tenant. Outside such a transaction the application role
 * sees no tenant rows at all.
 */
export function inTenant<T>(
  em: EntityManager,
  tenantId: string,
  fn: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  return em.transactional(async (tx) => {
    await inTenantTransaction(tx, tenantId);
    return fn(tx);
  });
}
