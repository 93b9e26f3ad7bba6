import { parseArgs } from 'node:util';
import type { Timing } from './load.js';

export type StoreName = 'sqlite' | 'postgres';

export interface BenchOptions {
  quick: boolean;
  /** Also write the results here. */
  json: string | undefined;
  stores: StoreName[];
  postgresUrl: string;
  peer: boolean;
  /** Also compare with oidc-provider on a PostgreSQL adapter (needs PostgreSQL). */
  durablePeer: boolean;
  growth: boolean;
  /** Profile scenarios a, c and d on the server instead of the full run. */
  profile: boolean;
  timing: Timing;
  /**
   * Measured windows per server and scenario, alternated (peer, Tessera, peer, Tessera, …) so
   * that the machine's drift weighs on both alike; at least 2.
   */
  rounds: number;
  /** Connections that post sign-ins in scenario f, beside a's. */
  signInConnections: number;
  growthTokens: number;
  growthUsers: number;
  /** Only these scenarios (ids as in bench/scenarios.ts), or all. */
  only: string[] | undefined;
}

export const USAGE = `npm run bench -- [options]

  --quick              short runs and a smaller large store: the whole run in under two minutes
  --json FILE          also write the results (JSON) to FILE
  --store NAME         sqlite, postgres or both (default both; postgres is skipped when unreachable)
  --pg-url URL         PostgreSQL server (default $BENCH_DATABASE_URL, $TEST_DATABASE_URL or
                       postgres://postgres@127.0.0.1:5432/test); the bench works in its own schema
  --no-peer            skip oidc-provider (both peers)
  --no-durable-peer    skip the durable peer (oidc-provider on a PostgreSQL adapter; skipped
                       anyway when PostgreSQL is unreachable)
  --no-growth          skip the large-store runs
  --profile            CPU-profile Tessera during a, c and d (writes bench/results/profiles/)
  --warmup S --duration S --connections N   override the timing (duration: of one round)
  --rounds N           measured rounds of each server per scenario, alternated (default 4, quick 2;
                       at least 2)
  --tokens N --users N                       size of the large store
  --only IDS           only these scenarios, e.g. --only b,e or --only b-es256,d (a letter takes
                       all its rows; results go to <date>-partial.*)
  (b and e are measured with RS256 and with ES256 ID tokens, on both servers, in every run)
  -h, --help`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      store: { type: 'string', default: 'both' },
      'pg-url': { type: 'string' },
      'no-peer': { type: 'boolean', default: false },
      'no-durable-peer': { type: 'boolean', default: false },
      'no-growth': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      tokens: { type: 'string' },
      users: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, got "${raw}"`);
    return n;
  };
  const store = values.store;
  if (!['both', 'sqlite', 'postgres'].includes(store))
    throw new Error(`--store must be sqlite, postgres or both, got "${store}"`);
  const quick = values.quick;
  const rounds = number('rounds', values.rounds, quick ? 2 : 4);
  if (!Number.isInteger(rounds) || rounds < 2)
    throw new Error(`--rounds must be a whole number of at least 2, got "${values.rounds}"`);
  return {
    quick,
    json: values.json,
    stores: store === 'both' ? ['sqlite', 'postgres'] : [store as StoreName],
    postgresUrl:
      values['pg-url'] ??
      process.env.BENCH_DATABASE_URL ??
      process.env.TEST_DATABASE_URL ??
      'postgres://postgres@127.0.0.1:5432/test',
    peer: !values['no-peer'],
    durablePeer: !values['no-durable-peer'],
    growth: !values['no-growth'],
    profile: values.profile,
    timing: {
      warmup: number('warmup', values.warmup, quick ? 1 : 3),
      duration: number('duration', values.duration, quick ? 1 : 5),
      connections: number('connections', values.connections, 10),
    },
    rounds,
    signInConnections: 4,
    growthTokens: number('tokens', values.tokens, quick ? 100_000 : 1_000_000),
    growthUsers: number('users', values.users, quick ? 10_000 : 100_000),
    only: values.only?.split(',').map((id) => id.trim()),
  };
}
