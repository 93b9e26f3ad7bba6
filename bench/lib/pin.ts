import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The core the servers under test run on, and the core the load generator runs on. */
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

export interface Pinning {
  /** True when the servers run on SERVER_CORE and this process on LOAD_CORE. */
  pinned: boolean;
  /** What the run prints about it. */
  note: string;
}

function hasTaskset(): boolean {
  const probe = spawnSync('taskset', ['-V'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Pins every thread of this process (the load generator) to LOAD_CORE, so that
 * the children started with `pinnedCommand` have SERVER_CORE to themselves.
 * Without taskset or with a single core, everything runs unpinned, and the note says so.
 */
export function pinLoadGenerator(): Pinning {
  const cores = availableParallelism();
  if (!hasTaskset()) {
    return {
      pinned: false,
      note: 'WARNING: taskset not found (util-linux): servers and load generator run unpinned, results are noisier',
    };
  }
  if (cores < 2) {
    return {
      pinned: false,
      note: `WARNING: only ${cores} core available: servers and load generator share it, results are pessimistic`,
    };
  }
  // -a: every thread, V8's and libuv's included, not only the main one.
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    return {
      pinned: false,
      note: `WARNING: taskset could not pin the load generator (${result.stderr.trim()}): running unpinned`,
    };
  }
  return {
    pinned: true,
    note: `pinned: servers under test on core ${SERVER_CORE} (taskset -c ${SERVER_CORE}), load generator (pid ${process.pid}) on core ${LOAD_CORE} (taskset -a -p -c ${LOAD_CORE}); ${cores} cores available`,
  };
}

/** The command line that runs `args` (a node invocation) on SERVER_CORE when pinning is on. */
export function pinnedCommand(pinning: Pinning, args: string[]): [string, string[]] {
  return pinning.pinned
    ? ['taskset', ['-c', String(SERVER_CORE), ...args]]
    : [args[0]!, args.slice(1)];
}
