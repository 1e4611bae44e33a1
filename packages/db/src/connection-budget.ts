import os from "node:os";

/** The most connections one API process pools for requests (the size used before several processes). */
export const API_POOL_MAX = 20;

/**
 * Connections an API process opens beside its request pool: the LISTEN connection of the
 * principal-cache invalidation, the shared rate limiter's, and its send-only pg-boss (2).
 */
export const API_PROCESS_EXTRA_CONNECTIONS = 4;

/**
 * Connections kept free for everything but the API processes: the import worker (pg-boss 4, the
 * import and its parse threads, the rescan), the primary's start-up and retention work, admin
 * commands and migrations, and PostgreSQL's own `superuser_reserved_connections` (3).
 */
export const RESERVED_CONNECTIONS = 20;

/**
 * Each API process's request pool: the connections `max_connections` leaves after the reserve,
 * shared by `processes` (each also opening its extra ones), at most API_POOL_MAX and at least 2.
 */
export function apiPoolSize(maxConnections: number, processes: number): number {
  const share = Math.floor((maxConnections - RESERVED_CONNECTIONS) / Math.max(1, processes));
  return Math.max(2, Math.min(API_POOL_MAX, share - API_PROCESS_EXTRA_CONNECTIONS));
}

/** The `max_connections` the embedded server gets: enough for `processes` full pools (at least 100). */
export function embeddedMaxConnections(processes: number = os.availableParallelism()): number {
  return Math.max(
    100,
    RESERVED_CONNECTIONS + Math.max(1, processes) * (API_POOL_MAX + API_PROCESS_EXTRA_CONNECTIONS),
  );
}
