import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alternate, medianResult, ratioSummary } from '../../bench/lib/alternate.js';
import { type Child, startChild } from '../../bench/lib/child.js';
import { serveClientDocument } from '../../bench/lib/documents.js';
import { keepAlive, send } from '../../bench/lib/http.js';
import { type LoadResult, type LoadSpec, runLoad } from '../../bench/lib/load.js';
import { parseOptions } from '../../bench/lib/options.js';
import { type PeerFixtures, setUpPeer } from '../../bench/lib/peer-setup.js';
import { markdownTable, type Row } from '../../bench/lib/report.js';
import { runRoundTrips } from '../../bench/lib/round-trips.js';
import { seedGrowth, seedRefreshPool } from '../../bench/lib/seed.js';
import { checkTargets, targetsTable } from '../../bench/lib/targets.js';
import {
  documentTrips,
  letterOf,
  peerTarget,
  signInSpec,
  TokenPool,
  tesseraTarget,
} from '../../bench/scenarios.js';
import type { TesseraFixtures } from '../../bench/servers/fixtures.js';
import type { PeerClients } from '../../bench/servers/peer.js';
import { randomToken } from '../../src/lib/random.js';
import { dropPostgresSchema } from '../../src/store/kysely/index.js';

// The benchmark's own processes and requests, run small: it breaks here, not in a 10-minute run.
const unpinned = { pinned: false, note: 'unpinned (test)' };

/** Sends one request of a load spec and returns its status. */
async function once(spec: LoadSpec): Promise<number> {
  return (await answer(spec)).status;
}

/** Sends one request of a load spec and returns its status and body. */
async function answer(spec: LoadSpec): Promise<{ status: number; body: string }> {
  const agent = keepAlive();
  try {
    let headers = spec.headers ?? {};
    let body = spec.body;
    if (spec.setupRequest) {
      const built = spec.setupRequest({ headers, ...(body ? { body } : {}) }, {});
      headers = built?.headers ?? headers;
      body = typeof built?.body === 'string' ? built.body : body;
    }
    const url = new URL(spec.path, spec.url);
    const response = await send(agent, url, {
      method: spec.method ?? 'GET',
      headers,
      ...(body ? { body } : {}),
    });
    return { status: response.status, body: response.body };
  } finally {
    agent.destroy();
  }
}

describe('benchmark smoke run on SQLite', () => {
  let dir: string;
  let server: Child;
  let fixtures: TesseraFixtures;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-bench-test-'));
    server = await startChild({
      name: 'tessera',
      script: new URL('../../bench/servers/tessera.ts', import.meta.url),
      pinning: unpinned,
      env: {
        BENCH_STORE: 'sqlite',
        BENCH_SQLITE_PATH: join(dir, 'bench.sqlite'),
        BENCH_SECRET: randomToken(32),
      },
    });
    fixtures = await server.call<TesseraFixtures>('fixtures');
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sustains a one-second client_credentials load with every answer a 200', async () => {
    const target = tesseraTarget(server.ready.url!, fixtures);
    const result = await runLoad(target.a, { warmup: 0, duration: 1, connections: 2 });
    expect(result.rps).toBeGreaterThan(0);
    expect(result.unexpected + result.errors).toBe(0);
    expect(result.p99_ms).toBeGreaterThanOrEqual(result.p50_ms);
  });

  it('answers one request of every other scenario as the benchmark expects', async () => {
    const url = server.ready.url!;
    const target = tesseraTarget(url, fixtures);
    const path = join(dir, 'bench.sqlite');
    for (const [id, alg] of [
      ['b-rs256', 'RS256'],
      ['b-es256', 'ES256'],
    ] as const) {
      const pool = new TokenPool(
        await seedRefreshPool({ dialect: 'sqlite', path }, fixtures, 3, alg),
      );
      const res = await answer(target.b[id](pool));
      expect(res.status).toBe(200);
      // The ID token is signed with the client's algorithm: what b's two rows compare.
      expect(idTokenAlg(res.body)).toBe(alg);
    }
    // Answered in full: a refusal to say ({"active": false}) would be measured as a success.
    for (const introspection of [target['c-jwt']!, target['c-opaque']]) {
      const res = await answer(introspection);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).active).toBe(true);
    }
    expect(await once(target.d)).toBe(200);
    // g: each request spends a fresh assertion from the pool signed ahead; none is signed live.
    for (const id of ['g-pkjwt', 'g-bearer'] as const) {
      const load = target.g[id]!;
      const pool = load.pool();
      pool.fill(2 / 12_000);
      const spec = load.spec(pool);
      for (let i = 0; i < 2; i++) {
        const res = await answer(spec);
        expect(res.status, `${id}: ${res.body}`).toBe(200);
        expect(JSON.parse(res.body).scope).toBe('api:read');
      }
      expect(pool.dry).toBe(0);
    }
    expect(await once(await signInSpec(url, fixtures))).toBe(303);
    for (const id of ['e-rs256', 'e-es256'] as const) {
      const trips = await runRoundTrips(target.e[id], {
        warmup: 0,
        duration: 0.3,
        connections: 1,
      });
      expect(trips.rps).toBeGreaterThan(0);
      expect(trips.unexpected).toBe(0);
    }
  });

  it('runs h: both round trips, the metadata document fetched once for the whole run', async () => {
    const url = server.ready.url!;
    const served = await serveClientDocument();
    try {
      await server.call('document-client', { url: served.clientId, userId: fixtures.user.id });
      const trips = documentTrips(url, fixtures, served.clientId);
      for (const id of ['h-registered', 'h-document'] as const) {
        const result = await runRoundTrips(trips[id], {
          warmup: 0,
          duration: 0.3,
          connections: 2,
        });
        expect(result.rps, id).toBeGreaterThan(0);
        expect(result.unexpected, id).toBe(0);
      }
      expect(served.fetches()).toBe(1);
    } finally {
      await served.close();
    }
  });

  it('seeds the large store in bulk and still serves its tokens', async () => {
    const path = join(dir, 'bench.sqlite');
    await seedGrowth(
      { dialect: 'sqlite', path },
      { tokens: 2_000, users: 200 },
      [fixtures.web.id],
      server.ready.url!,
    );
    const target = tesseraTarget(server.ready.url!, fixtures);
    expect(await once(target.d)).toBe(200);
    const memory = await server.call<{ rss_mb: number }>('memory');
    expect(memory.rss_mb).toBeGreaterThan(0);
  });
});

/** The alg in a token response's ID token header. */
function idTokenAlg(body: string): string {
  const idToken = JSON.parse(body).id_token as string;
  return JSON.parse(Buffer.from(idToken.split('.')[0]!, 'base64url').toString()).alg;
}

const pgUrl = process.env.TEST_DATABASE_URL;
const peers = [
  { name: 'in-memory', env: {} as Record<string, string> },
  ...(pgUrl
    ? [
        {
          name: 'durable (PostgreSQL adapter)',
          env: {
            BENCH_PEER_ADAPTER: 'postgres',
            BENCH_PG_URL: pgUrl,
            BENCH_PG_SCHEMA: `bench_peer_test_${process.pid}`,
          },
        },
      ]
    : []),
];

describe.each(peers)('the $name peer', ({ env }) => {
  let peer: Child;
  let fixtures: PeerFixtures;

  beforeAll(async () => {
    peer = await startChild({
      name: 'peer',
      script: new URL('../../bench/servers/peer.ts', import.meta.url),
      pinning: unpinned,
      env,
    });
    fixtures = await setUpPeer(
      peer.ready.url!,
      peer.ready.clients as PeerClients,
      String(peer.ready.account),
    );
  }, 30_000);

  afterAll(async () => {
    await peer?.stop();
    if (env.BENCH_PG_SCHEMA) await dropPostgresSchema(pgUrl!, env.BENCH_PG_SCHEMA);
  });

  it('answers b with ID tokens of each algorithm, and c, d and e', async () => {
    const target = peerTarget(peer.ready.url!, fixtures);
    for (const [id, alg] of [
      ['b-rs256', 'RS256'],
      ['b-es256', 'ES256'],
    ] as const) {
      const pool = new TokenPool(
        await peer.call<string[]>('refresh-pool', {
          token: fixtures.idToken[alg].refreshToken,
          count: 2,
        }),
      );
      const res = await answer(target.b[id](pool));
      expect(res.status).toBe(200);
      expect(idTokenAlg(res.body)).toBe(alg);
    }
    expect(JSON.parse((await answer(target['c-opaque'])).body).active).toBe(true);
    expect(await once(target.d)).toBe(200);
    // g: oidc-provider's private_key_jwt client; it has no JWT bearer grant.
    const keyed = target.g['g-pkjwt']!;
    const pool = keyed.pool();
    pool.fill(2 / 12_000);
    for (let i = 0; i < 2; i++) {
      const res = await answer(keyed.spec(pool));
      expect(res.status, res.body).toBe(200);
    }
    expect(target.g['g-bearer']).toBeUndefined();
    for (const id of ['e-rs256', 'e-es256'] as const) {
      const trips = await runRoundTrips(target.e[id], {
        warmup: 0,
        duration: 0.3,
        connections: 1,
      });
      expect(trips.rps).toBeGreaterThan(0);
      expect(trips.unexpected).toBe(0);
    }
  });
});

describe('benchmark report', () => {
  const base: Row = {
    scenario: 'd',
    title: 'd. userinfo',
    store: 'sqlite',
    unit: 'requests',
    rps: 10_000,
    p50_ms: 1,
    p99_ms: 2,
    cpu_us: 90,
    peer_rps: 4_000,
    peer_p50_ms: 3,
    peer_p99_ms: 9,
    ratio_vs_peer: 2.5,
    ceiling: 'transport',
    ceiling_rps: 40_000,
    fraction_of_ceiling: 0.25,
    rss_mb: 150,
    failures: 0,
  };

  it('names the variant rows and shows the median ratio with its spread', () => {
    const rows: Row[] = [
      { ...base, ratio_min: 2.1, ratio_max: 2.9 },
      { ...base, scenario: 'd@uncached', rps: 5_000, ratio_vs_peer: null },
      { ...base, scenario: 'd@large', rps: 3_500, ratio_vs_peer: null, vs_empty: 0.7 },
    ];
    const table = markdownTable(rows);
    expect(table).toContain('| 2.50× (2.10–2.90) |');
    expect(table).toContain('| d. userinfo (token cache off) |');
    expect(table).toContain('| d. userinfo (large store, token cache off) |');
  });

  it("lists every one of issue 11's targets per store, with a verdict or why not measured", () => {
    const rows: Row[] = [
      {
        ...base,
        ratio_vs_peer: 2.5,
        ratio_min: 2.1,
        ratio_max: 2.9,
        durable_ratio_vs_peer: 2.2,
        durable_ratio_min: 2,
        durable_ratio_max: 2.4,
      },
      { ...base, scenario: 'b-es256', ratio_vs_peer: 1.96, ratio_min: 1.5, ratio_max: 2.2 },
      {
        ...base,
        scenario: 'b-rs256',
        ratio_vs_peer: 1.3,
        cpu_us: 900,
        signatures_us: 420,
        cpu_minus_signatures_us: 480,
      },
      { ...base, scenario: 'd@large', vs_empty: 0.7 },
      { ...base, scenario: 'f', ratio_vs_peer: null, a_p99_ratio: 1.5 },
      { ...base, store: 'postgres', scenario: 'b-es256', ratio_vs_peer: 1.6 },
      // Failures or a dry pool: the ratio is shown but gives no verdict.
      { ...base, store: 'postgres', scenario: 'b-rs256', ratio_vs_peer: 1.4, failures: 3 },
      { ...base, store: 'postgres', scenario: 'e-es256', ratio_vs_peer: 1.4, peer_pool_dry: 2 },
    ];
    const checks = checkTargets(rows, ['sqlite', 'postgres']);
    const verdict = (id: string, store = 'sqlite') =>
      checks.find((c) => c.id === id && c.store === store);
    // The goal depends on the store: 1.6× misses SQLite's 2× and meets PostgreSQL's 1.5×.
    expect(verdict('b-es256-vs-peer')).toMatchObject({ value: 1.96, goal: '≥ 2.0×', met: false });
    expect(verdict('b-es256-vs-peer', 'postgres')).toMatchObject({ goal: '≥ 1.5×', met: true });
    expect(verdict('b-rs256-vs-peer')).toMatchObject({ goal: '≥ 1.3×', met: true });
    expect(verdict('d-vs-peer')).toMatchObject({ met: true, note: 'rounds 2.10–2.90×' });
    expect(verdict('d@large-vs-empty')).toMatchObject({ value: 0.7, goal: '≥ 80%', met: false });
    expect(verdict('f-a-p99-ratio')).toMatchObject({ goal: '≤ 2.0×', met: true });
    // Not in these rows, or not measured by the benchmark: listed, with met null.
    expect(verdict('e-rs256-vs-peer')).toMatchObject({
      value: null,
      met: null,
      note: 'not in this run',
    });
    expect(verdict('b-es256-vs-durable-peer')?.met).toBeNull();
    expect(verdict('d-vs-durable-peer')).toMatchObject({ value: 2.2, met: true });
    expect(verdict('b-rs256-cpu-minus-signatures')).toMatchObject({
      value: 480,
      goal: '≤ 250 µs',
      met: false,
      note: '900 µs − 420 µs',
    });
    expect(verdict('b-es256-cpu-minus-signatures')?.met).toBeNull();
    expect(verdict('b-rs256-vs-peer', 'postgres')).toMatchObject({
      value: 1.4,
      met: null,
      note: '3 failed answers: no verdict',
    });
    expect(verdict('e-es256-vs-peer', 'postgres')).toMatchObject({
      met: null,
      note: 'a refresh-token pool ran dry 2 times: no verdict',
    });
    // The CPU target is SQLite's only.
    expect(verdict('b-rs256-cpu-minus-signatures', 'postgres')).toBeUndefined();
    for (const c of checks)
      expect(Object.keys(c)).toEqual(
        expect.arrayContaining(['id', 'store', 'value', 'goal', 'met']),
      );

    const table = targetsTable(checks);
    // One decimal, or two where one decimal would read as met (1.96 is not "2.0×, no").
    expect(table).toContain('| sqlite | ≥ 2.0× | 1.96× | **no** |');
    expect(table).toContain('| sqlite | ≥ 1.3× | 1.3× | yes |');
    expect(table).toContain('| sqlite | ≥ 80% | 70.0% | **no** |');
    expect(table).toContain('| not measured | not in this run |');
    expect(table).toContain(
      '| postgres | ≥ 1.1× | 1.4× | no verdict | 3 failed answers: no verdict |',
    );
    expect(table).toContain('| sqlite | ≤ 250 µs | 480 µs | **no** | 900 µs − 420 µs |');
  });
});

describe('benchmark options', () => {
  it('takes a subset of the scenarios, by row or by letter', () => {
    const options = parseOptions(['--quick', '--only', 'b, e-es256']);
    expect(options.only).toEqual(['b', 'e-es256']);
    expect(parseOptions([]).only).toBeUndefined();
    expect(['b-rs256', 'c-jwt', 'd@large'].map(letterOf)).toEqual(['b', 'c', 'd']);
    // Both ID-token algorithms are in every run: the option that chose one is gone.
    expect(() => parseOptions(['--id-token-alg', 'ES256'])).toThrow();
  });

  it('takes the number of alternated rounds, at least two', () => {
    expect(parseOptions([]).rounds).toBe(4);
    expect(parseOptions(['--quick']).rounds).toBe(2);
    expect(parseOptions(['--rounds', '3']).rounds).toBe(3);
    expect(() => parseOptions(['--rounds', '1'])).toThrow(/at least 2/);
  });
});

describe('benchmark alternation', () => {
  const result = (rps: number, p99_ms = 1): LoadResult => ({
    rps,
    p50_ms: 0.5,
    p99_ms,
    responses: rps,
    unexpected: 0,
    errors: 0,
  });

  it('warms both servers, then alternates peer and Tessera and divides each round by its own peer', async () => {
    const calls: string[] = [];
    const peerRates = [1_000, 500, 800];
    const ourRates = [2_000, 1_500, 800];
    const timing = { warmup: 1, duration: 2, connections: 1 };
    const run = await alternate(
      async (t) => {
        calls.push(t.duration === 1 ? 'ours warm' : 'ours');
        return result(t.duration === 1 ? 0 : ourRates.shift()!);
      },
      async (t) => {
        calls.push(t.duration === 1 ? 'peer warm' : 'peer');
        return result(t.duration === 1 ? 0 : peerRates.shift()!);
      },
      timing,
      3,
    );
    expect(calls).toEqual([
      'peer warm',
      'ours warm',
      'peer',
      'ours',
      'peer',
      'ours',
      'peer',
      'ours',
    ]);
    expect(run.rounds.map((r) => r.ratio)).toEqual([2, 3, 1]);
    // The median of the per-round ratios, not the ratio of the medians (1,500 ÷ 800).
    expect(ratioSummary(run.rounds)).toEqual({ ratio_vs_peer: 2, ratio_min: 1, ratio_max: 3 });
    expect(medianResult(run.ours).rps).toBe(1_500);
  });

  it('measures Tessera alone without a peer, and folds an even number of rounds to the middle', async () => {
    const rates = [100, 300];
    const run = await alternate(
      async () => result(rates.shift()!, 4),
      undefined,
      { warmup: 0, duration: 1, connections: 1 },
      2,
    );
    expect(run.theirs).toEqual([]);
    expect(ratioSummary(run.rounds).ratio_vs_peer).toBeNull();
    expect(medianResult(run.ours)).toMatchObject({ rps: 200, p99_ms: 4, responses: 400 });
  });
});

describe.skipIf(!pgUrl)('the driver comparison (bench/drivers.ts)', () => {
  it('measures pg and postgres.js on one case and prints the table', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/drivers.ts',
        '--url',
        pgUrl!,
        '--only',
        'sel',
        '--reps',
        '1',
        '--queries',
        '20',
        '--warmup',
        '5',
      ],
      { timeout: 60_000 },
    );
    expect(stdout).toMatch(/\| sel \| pg \| [\d.]+/);
    expect(stdout).toMatch(/\| sel \| postgres \| [\d.]+/);
  }, 90_000);
});
