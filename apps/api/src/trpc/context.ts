import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";

import type { Principal } from "../auth/principal.js";
import type { Logger } from "../logger.js";

/**
 * The inner context: what procedures use. Tests build it directly; the HTTP adapter wraps it
 * (see createHttpContext) with what it reads from the request.
 */
export interface Context {
  orm: MikroORM;
  /** A fresh EntityManager fork for this request. */
  em: EntityManager;
  log: Logger;
  requestId: string;
  /** The raw bearer token, resolved to a principal by the authed base procedure. */
  bearerToken: string | null;
  /** Set by the authed base procedure. */
  principal: Principal | null;
}

export interface ContextDeps {
  orm: MikroORM;
  log: Logger;
}

export function createInnerContext(
  deps: ContextDeps,
  request: { requestId: string; bearerToken: string | null },
): Context {
  return {
    orm: deps.orm,
    em: deps.orm.em.fork(),
    log: deps.log.child({ requestId: request.requestId }),
    requestId: request.requestId,
    bearerToken: request.bearerToken,
    principal: null,
  };
}

/** Reads `Authorization: Bearer <token>`; anything else counts as no token. */
export function bearerFrom(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] ?? null;
}
