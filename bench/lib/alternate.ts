import type { LoadResult, Timing } from './load.js';
import { median, round } from './stats.js';

/** Runs one window of a scenario's load on one server. */
export type Window = (timing: Timing) => Promise<LoadResult>;

/** One measured round: Tessera's throughput, the peer's just before, and their ratio. */
export interface Round {
  rps: number;
  peer_rps: number | null;
  ratio: number | null;
}

export interface Alternated {
  ours: LoadResult[];
  theirs: LoadResult[];
  rounds: Round[];
}

/**
 * Both servers warmed up (the peer first), then measured in alternation (peer, Tessera, peer,
 * Tessera, …) for `count` rounds each, so that the machine's speed, which swings from minute to
 * minute, weighs on both alike. Each round's ratio divides Tessera by the peer measured just
 * before it. Without a peer, Tessera's rounds alone.
 */
export async function alternate(
  ours: Window,
  theirs: Window | undefined,
  timing: Timing,
  count: number,
  onRound: (index: number, round: Round) => void = () => {},
): Promise<Alternated> {
  if (timing.warmup > 0) {
    const warm: Timing = { ...timing, warmup: 0, duration: timing.warmup };
    if (theirs) await theirs(warm);
    await ours(warm);
  }
  const measured: Timing = { ...timing, warmup: 0 };
  const out: Alternated = { ours: [], theirs: [], rounds: [] };
  for (let i = 0; i < count; i++) {
    const theirResult = theirs ? await theirs(measured) : undefined;
    const result = await ours(measured);
    out.ours.push(result);
    if (theirResult) out.theirs.push(theirResult);
    const ratio = theirResult?.rps ? round(result.rps / theirResult.rps, 3) : null;
    const one: Round = { rps: result.rps, peer_rps: theirResult?.rps ?? null, ratio };
    out.rounds.push(one);
    onRound(i, one);
  }
  return out;
}

/** The median of the rounds' ratios and their spread, or nulls when there was no peer. */
export function ratioSummary(rounds: Round[]): {
  ratio_vs_peer: number | null;
  ratio_min: number | null;
  ratio_max: number | null;
} {
  const ratios = rounds.map((r) => r.ratio).filter((r): r is number => r !== null);
  if (ratios.length === 0) return { ratio_vs_peer: null, ratio_min: null, ratio_max: null };
  return {
    ratio_vs_peer: round(median(ratios), 2),
    ratio_min: round(Math.min(...ratios), 2),
    ratio_max: round(Math.max(...ratios), 2),
  };
}

/** The rounds of one server folded into one result: the median of each figure, failures summed. */
export function medianResult(results: LoadResult[]): LoadResult {
  const mid = (pick: (r: LoadResult) => number | undefined, digits = 0) => {
    const values = results.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? round(median(values), digits) : undefined;
  };
  const statuses: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.statuses ?? {}))
      statuses[code] = (statuses[code] ?? 0) + n;
  const cpu = mid((r) => r.cpu_us);
  const busy = mid((r) => r.busy, 2);
  return {
    rps: mid((r) => r.rps) ?? 0,
    p50_ms: mid((r) => r.p50_ms, 2) ?? 0,
    p99_ms: mid((r) => r.p99_ms, 2) ?? 0,
    responses: results.reduce((n, r) => n + r.responses, 0),
    unexpected: results.reduce((n, r) => n + r.unexpected, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    ...(Object.keys(statuses).length ? { statuses } : {}),
    ...(cpu !== undefined ? { cpu_us: cpu } : {}),
    ...(busy !== undefined ? { busy } : {}),
  };
}
