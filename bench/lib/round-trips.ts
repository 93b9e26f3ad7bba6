import type { Agent } from 'node:http';
import { keepAlive } from './http.js';
import { type CpuProbe, type LoadResult, type Timing, withCpu } from './load.js';
import { Latencies, round } from './stats.js';

/**
 * A closed-loop load of multi-request round trips: `connections` virtual users,
 * each on its own keep-alive connection, run `roundTrip` back to back: first
 * for the warm-up, then measured, where the round trips that end before the
 * deadline count. `roundTrip` throws when a step does not answer as it should.
 */
export async function runRoundTrips(
  roundTrip: (agent: Agent) => Promise<void>,
  timing: Timing,
  probe?: CpuProbe,
): Promise<LoadResult> {
  if (timing.warmup > 0) await loop(roundTrip, { ...timing, warmup: 0, duration: timing.warmup });
  return withCpu(probe, () => loop(roundTrip, { ...timing, warmup: 0 }));
}

async function loop(
  roundTrip: (agent: Agent) => Promise<void>,
  timing: Timing,
): Promise<LoadResult> {
  const latencies = new Latencies();
  let failed = 0;
  let lastError: unknown;
  const start = performance.now();
  const measureFrom = start + timing.warmup * 1000;
  const deadline = measureFrom + timing.duration * 1000;

  const user = async () => {
    const agent = keepAlive();
    try {
      while (performance.now() < deadline) {
        const began = performance.now();
        try {
          await roundTrip(agent);
        } catch (error) {
          if (began >= measureFrom) {
            failed += 1;
            lastError = error;
          }
          continue;
        }
        const ended = performance.now();
        if (began >= measureFrom && ended <= deadline) latencies.add(ended - began);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: timing.connections }, user));
  if (failed > 0) {
    process.stderr.write(
      `  ${failed} round trips failed; the last: ${lastError instanceof Error ? lastError.message : String(lastError)}\n`,
    );
  }
  return {
    rps: round(latencies.count / timing.duration),
    ...latencies.percentiles(),
    responses: latencies.count + failed,
    unexpected: failed,
    errors: 0,
  };
}
