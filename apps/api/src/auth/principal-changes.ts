import type { EntityManager } from "@mikro-orm/postgresql";
import { NotificationListener } from "@contacts/db/notifications";
import { loggableError } from "@contacts/db/loggable-error";

import type { Logger } from "../logger.js";
import type { PrincipalCache } from "./principal-cache.js";

/** The PostgreSQL channel a change of a tenant's keys or settings is announced on (payload: tenant id). */
export const TENANT_CHANGES_CHANNEL = "contacts_tenant_changes";

/**
 * Announces, inside the transaction that changes a tenant's keys or settings, that every API
 * process must forget the tenant's cached principals. PostgreSQL delivers it only if, and once,
 * the transaction commits. (The changing process also forgets at once, after its commit.)
 */
export async function announceTenantChange(tx: EntityManager, tenantId: string): Promise<void> {
  await tx.execute("select pg_notify(?, ?)", [TENANT_CHANGES_CHANNEL, tenantId]);
}

/**
 * Keeps `principals` in step with every process's changes: a dedicated connection LISTENs on the
 * channel and forgets each announced tenant. When that connection drops the cache is suspended
 * (cleared, caching nothing) until the listener is back, so no revocation can be missed.
 */
export async function followTenantChanges(
  url: string,
  principals: PrincipalCache,
  log: Logger,
): Promise<{ stop(): Promise<void> }> {
  principals.suspend();
  let lost = false;
  const listener = new NotificationListener(
    url,
    TENANT_CHANGES_CHANNEL,
    {
      notified: (tenantId) => principals.forgetTenant(tenantId),
      listening: () => {
        principals.resume();
        if (lost) log.info("tenant change notifications back: caching principals again");
        lost = false;
      },
      lost: (error) => {
        principals.suspend();
        lost = true;
        log.warn(
          error ? loggableError(error) : {},
          "tenant change notifications lost: caching no principals until reconnected",
        );
      },
    },
    "contacts-api-listen",
  );
  await listener.start();
  return { stop: () => listener.stop() };
}
