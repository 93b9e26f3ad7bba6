import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
}

export function machine(): Machine {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
  };
}

function busyTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * How busy the machine is with work that is not ours, sampled for `ms` before
 * the run starts: a benchmark on a shared machine is only as quiet as its neighbours.
 */
export async function backgroundLoad(ms = 1000): Promise<string> {
  const before = busyTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = busyTicks();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  if (!before || !after) return `load average ${load}`;
  const share = (after.busy - before.busy) / Math.max(1, after.total - before.total);
  const pct = Math.round(share * 100);
  const note = `machine before the run: ${pct}% of all cores busy, load average ${load}`;
  return pct > 10
    ? `WARNING: ${note}: something else is running, results will be low and noisy`
    : note;
}
