/**
 * The load generator, run as its own process by `runLoad` (processes.ts) so that it never shares an
 * event loop with the server it measures: `node --import tsx load.ts <spec.json>`. Drives autocannon
 * programmatically (per-request paths and bodies), records every response's latency itself (for exact
 * p50 / p95 / p99) and prints one JSON `LoadResult` line on stdout.
 */
import fs from "node:fs";

import autocannon from "autocannon";

import type { LoadResult, LoadSpec } from "./processes.js";

const specPath = process.argv[2];
if (!specPath) throw new Error("usage: load.ts <spec.json>");
const spec = JSON.parse(fs.readFileSync(specPath, "utf8")) as LoadSpec;

let n = 0;
const setupRequest = (request: autocannon.Request): autocannon.Request => {
  const i = n++;
  if (spec.paths && spec.paths.length > 0) request.path = spec.paths[i % spec.paths.length] ?? "/";
  if (spec.body !== undefined) request.body = spec.body.replaceAll("{{n}}", String(i));
  return request;
};

const latencies: number[] = [];
let ok = 0;
let non2xx = 0;
const statuses: Record<string, number> = {};
const started = performance.now();
let finish: (result: autocannon.Result) => void = () => undefined;
let fail: (error: unknown) => void = () => undefined;
const done = new Promise<autocannon.Result>((resolve, reject) => {
  finish = resolve;
  fail = reject;
});
const instance = autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    method: spec.method,
    headers: { "content-type": "application/json", ...spec.headers },
    requests: [{ method: spec.method, ...(spec.path ? { path: spec.path } : {}), setupRequest }],
    timeout: 30,
  },
  (error: unknown, result: autocannon.Result) => (error ? fail(error) : finish(result)),
);
instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  if (statusCode >= 200 && statusCode < 300) {
    ok++;
    latencies.push(responseTime);
  } else {
    non2xx++;
    statuses[String(statusCode)] = (statuses[String(statusCode)] ?? 0) + 1;
  }
});
const result = await done;
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
const out: LoadResult = {
  ok,
  non2xx,
  statuses,
  errors: result.errors,
  timeouts: result.timeouts,
  seconds,
  perSecond: ok / seconds,
  p50: at(0.5),
  p95: at(0.95),
  p99: at(0.99),
  max: latencies[latencies.length - 1] ?? 0,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
