/**
 * Alternating rounds of the throughput benchmarks: a warm-up of each side, then API and baseline
 * runs in turn (API, baseline, API, baseline, ...), each run by the load generator in its own process
 * (`runLoad`), and medians over the rounds.
 */
import { runLoad } from "./processes.js";
import type { LoadResult, LoadSpec } from "./processes.js";

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
export const ms = (n: number): string => n.toFixed(1);
export const perSecond = (n: number): string => Math.round(n).toLocaleString("en-US");
const progress = (line: string): void => console.error(line);

export interface Summary {
  rounds: LoadResult[];
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
}
export const summarize = (rounds: LoadResult[]): Summary => ({
  rounds,
  perSecond: median(rounds.map((r) => r.perSecond)),
  p50: median(rounds.map((r) => r.p50)),
  p95: median(rounds.map((r) => r.p95)),
  p99: median(rounds.map((r) => r.p99)),
});

/** Round by round (each API round against the baseline round right after it): less drift of the machine. */
export const pairedRatios = ({ api, raw }: { api: Summary; raw: Summary }): string => {
  const ratios = api.rounds.map((a, i) => a.perSecond / (raw.rounds[i]?.perSecond ?? Number.NaN));
  return `round by round ${ratios.map((r) => r.toFixed(2)).join(", ")} (median ${median(ratios).toFixed(2)}x)`;
};

/** One measured run; a run with any non-2xx response or error fails the benchmark. */
export async function measure(name: string, spec: LoadSpec): Promise<LoadResult> {
  const result = await runLoad(spec);
  progress(
    `  ${name}: ${perSecond(result.perSecond)}/s p50 ${ms(result.p50)} p95 ${ms(result.p95)} p99 ${ms(result.p99)} max ${ms(result.max)} ms (${String(result.ok)} ok)`,
  );
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(
      `${name}: ${String(result.non2xx)} non-2xx responses ${JSON.stringify(result.statuses)}, ${String(result.errors)} errors`,
    );
  return result;
}

/** Warm-up of each side (3 s), then `rounds` alternating rounds. */
export async function alternate(
  name: string,
  rounds: number,
  api: (round: number) => LoadSpec,
  raw: (round: number) => LoadSpec,
  hooks: {
    beforeRound?: () => Promise<void>;
    afterRound?: (side: "api" | "raw", result: LoadResult) => Promise<void>;
  } = {},
): Promise<{ api: Summary; raw: Summary }> {
  progress(`${name}: warm-up`);
  await runLoad({ ...api(-1), seconds: 3 });
  await runLoad({ ...raw(-1), seconds: 3 });
  const apiRounds: LoadResult[] = [];
  const rawRounds: LoadResult[] = [];
  for (let round = 0; round < rounds; round++) {
    await hooks.beforeRound?.();
    const a = await measure(`${name} API round ${String(round + 1)}`, api(round));
    await hooks.afterRound?.("api", a);
    apiRounds.push(a);
    await hooks.beforeRound?.();
    const r = await measure(`${name} baseline round ${String(round + 1)}`, raw(round));
    await hooks.afterRound?.("raw", r);
    rawRounds.push(r);
  }
  return { api: summarize(apiRounds), raw: summarize(rawRounds) };
}
