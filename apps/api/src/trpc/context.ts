import type { EntityManager } from "@mikro-orm/postgresql";

import type { Principal } from "../auth/principal.js";
import type { ContactViewer } from "../contacts/contact.dto.js";
import type { IdempotencyClaim } from "../idempotency/idempotency.js";
import type { Logger } from "../logger.js";
import type { ApiServices } from "../services.js";

/**
 * The inner context: what procedures use. The HTTP adapter builds it from the request (see
 * createInnerContext); the authed base procedure binds it to the caller's tenant.
 */
export interface Context {
  services: ApiServices;
  /**
   * A fresh EntityManager fork for this request. Once the caller is authenticated it is replaced by
   * the request's transaction, bound to the caller's tenant (row-level security reads it).
   */
  em: EntityManager;
  log: Logger;
  requestId: string;
  /** The raw bearer token, resolved to a principal by the authed base procedure. */
  bearerToken: string | null;
  /** `X-Tenant-Id`: which tenant a service token covering several tenants acts in. */
  tenantHeader: string | null;
  /** Set by the authed base procedure. */
  principal: Principal | null;
  /** Set by the authed base procedure: the one way contacts are shown to this caller. */
  viewer: ContactViewer | null;
  /** The raw `Idempotency-Key` header (checked by the authed base procedure, for mutations only). */
  idempotencyKeyHeader: string | null;
  /** Whether the request is a tRPC batch (one `Idempotency-Key` cannot cover several calls). */
  batched: boolean;
  /** Set for a keyed mutation that claimed its key: the call's transaction stores its result. */
  idempotency: IdempotencyClaim | null;
  /** Run once the call's transaction has committed (the authed base procedure gives each call its own list). */
  afterCommit: (() => void)[];
}

export function createInnerContext(
  services: ApiServices,
  request: {
    requestId: string;
    bearerToken: string | null;
    tenantHeader: string | null;
    idempotencyKeyHeader?: string | null;
    batched?: boolean;
  },
): Context {
  return {
    services,
    em: services.orm.em.fork(),
    log: services.log.child({ requestId: request.requestId }),
    requestId: request.requestId,
    bearerToken: request.bearerToken,
    tenantHeader: request.tenantHeader,
    idempotencyKeyHeader: request.idempotencyKeyHeader ?? null,
    batched: request.batched ?? false,
    idempotency: null,
    principal: null,
    viewer: null,
    afterCommit: [],
  };
}

/** Reads `Authorization: Bearer <token>`; anything else counts as no token. */
export function bearerFrom(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] ?? null;
}
