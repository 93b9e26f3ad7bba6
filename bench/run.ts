/*
 * `npm run bench`: Tessera against oidc-provider and against the machine's own
 * ceilings, in one run. See bench/README.md for what each scenario measures.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomToken } from '../src/lib/random.js';
import { dropPostgresSchema } from '../src/store/kysely/index.js';
import { alternate, medianResult, type Round, ratioSummary, type Window } from './lib/alternate.js';
import type { AssertionPool } from './lib/assertions.js';
import { type Child, startChild } from './lib/child.js';
import { serveClientDocument } from './lib/documents.js';
import { type LoadResult, measure, runLoad, type Timing } from './lib/load.js';
import { backgroundLoad, machine as describeMachine } from './lib/machine.js';
import { type BenchOptions, parseOptions, type StoreName } from './lib/options.js';
import { type PeerFixtures, setUpPeer } from './lib/peer-setup.js';
import { type Pinning, pinLoadGenerator } from './lib/pin.js';
import { formatSummary, perOperation, summarize } from './lib/profile-summary.js';
import { markdownTable, type Row } from './lib/report.js';
import { runRoundTrips } from './lib/round-trips.js';
import { type SeedTarget, seedGrowth, seedRefreshPool, settle } from './lib/seed.js';
import { round } from './lib/stats.js';
import { checkTargets, targetsTable } from './lib/targets.js';
import {
  DOCUMENT_TRIP_IDS,
  documentTrips,
  GROWTH_IDS,
  idTokenAlgOf,
  isAssertion,
  isDocumentTrip,
  isRefresh,
  isRoundTrip,
  letterOf,
  peerTarget,
  QUICK_GROWTH_IDS,
  type RefreshId,
  SCENARIOS,
  type ScenarioId,
  signInSpec,
  type Target,
  TokenPool,
  tesseraTarget,
} from './scenarios.js';
import type { IdTokenAlg, TesseraFixtures } from './servers/fixtures.js';
import type { PeerClients } from './servers/peer.js';

const options = parseOptions(process.argv.slice(2));
const began = performance.now();
const log = (line = '') => process.stdout.write(`${line}\n`);
const elapsed = () => `${Math.round((performance.now() - began) / 1000)} s`;

const machine = describeMachine();
const pinning: Pinning = pinLoadGenerator();
const date = new Date().toISOString().slice(0, 10);
const script = (name: string) => new URL(`./servers/${name}.ts`, import.meta.url);
/** Whether a scenario is part of this run (--only). */
const included = (id: ScenarioId) =>
  !options.only || options.only.includes(id) || options.only.includes(letterOf(id));

/** Pre-issued refresh tokens: enough for this many grants per second over warm-up and measurement. */
const POOL_RATE = 2_500;
const poolSize = (seconds: number) => Math.ceil(POOL_RATE * seconds * 1.5);

function describe(result: LoadResult): string {
  const failures = result.unexpected + result.errors;
  const cpu =
    result.cpu_us === undefined ? '' : `  CPU ${result.cpu_us} µs/op (busy ${result.busy})`;
  return `${result.rps.toLocaleString('en-US')}/s  p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms${cpu}${failures ? `  (${failures} failed: ${JSON.stringify(result.statuses ?? {})})` : ''}`;
}

const cpuOf = (child: Child) => () => child.call<number>('cpu');

async function rss(child: Child): Promise<number> {
  return (await child.call<{ rss_mb: number }>('memory')).rss_mb;
}

// ---------------------------------------------------------------- ceilings

interface Ceilings {
  transport: LoadResult;
  signing: { jose_rps: number; node_crypto_rps: number; node_crypto_rs256_rps: number };
}

/**
 * The transport ceiling: a bare node:http server, started on the server core for the measurement.
 * It is a ceiling only if the bare server was kept busy: when something else held the load
 * generator's core back (busy below 0.9), it is measured again, twice at most, and the best kept.
 */
async function measureTransport(): Promise<LoadResult> {
  const bare = await startChild({ name: 'bare', script: script('bare'), pinning });
  try {
    let best: LoadResult | undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const transport = await runLoad(
        { url: bare.ready.url!, path: '/' },
        options.timing,
        cpuOf(bare),
      );
      log(`  ceiling, transport: bare node:http, small JSON body   ${describe(transport)}`);
      if (!best || transport.rps > best.rps) best = transport;
      if ((transport.busy ?? 1) >= 0.9) break;
      if (attempt < 3) log('    the bare server was not kept busy: measuring again');
    }
    return best!;
  } finally {
    await bare.stop();
  }
}

/** The signing ceiling: jose signing ES256 JWTs in a loop on the server core. */
async function measureSigning(): Promise<Ceilings['signing']> {
  const signer = await startChild({ name: 'sign', script: script('sign'), pinning });
  try {
    const signing: Ceilings['signing'] = await signer.call('measure', {
      warmup: Math.min(options.timing.warmup, 1),
      duration: options.timing.duration,
      quick: options.quick,
    });
    log(
      `  ceiling, signing: ES256 JWTs with jose ${signing.jose_rps.toLocaleString('en-US')}/s (node:crypto sign() alone ${signing.node_crypto_rps.toLocaleString('en-US')}/s; RS256 ${signing.node_crypto_rs256_rps.toLocaleString('en-US')}/s)`,
    );
    return signing;
  } finally {
    await signer.stop();
  }
}

// ---------------------------------------------------------------- one scenario, both servers

interface Measured {
  result: LoadResult;
  rss_mb: number;
  extra?: Record<string, unknown>;
}

/** A scenario measured on Tessera and the peer in alternation. */
interface Compared extends Measured {
  peer?: Measured;
  rounds: Round[];
  /** The same scenario alternated with the durable peer (oidc-provider on PostgreSQL). */
  durable?: Compared;
}

/** A running server and what the scenarios send it. */
interface Side {
  child: Child;
  target: Target;
  /** `count` fresh refresh tokens of this server's person client with that ID-token alg (b). */
  pool(alg: IdTokenAlg, count: number): Promise<TokenPool>;
}

/**
 * Sets up scenario `id` on one server for `seconds` of load in all (b's pool of tokens is drawn
 * once), and returns what runs one window of it; undefined when the server has no such scenario.
 */
async function prepare(
  id: ScenarioId,
  side: Side,
  seconds: number,
): Promise<{ window: Window; tokens?: TokenPool; assertions?: AssertionPool } | undefined> {
  const probe = cpuOf(side.child);
  if (isRefresh(id)) {
    const tokens = await side.pool(idTokenAlgOf(id), poolSize(seconds));
    const spec = side.target.b[id](tokens);
    return { window: (timing) => runLoad(spec, timing, probe), tokens };
  }
  if (isRoundTrip(id)) {
    const trip = side.target.e[id];
    return { window: (timing) => runRoundTrips(trip, timing, probe) };
  }
  if (isAssertion(id)) {
    const load = side.target.g[id];
    if (!load) return undefined;
    const pool = load.pool();
    const spec = load.spec(pool);
    // Signed before each window, for that window alone: the generator only sends.
    return {
      window: (timing) => {
        pool.fill(timing.warmup + timing.duration);
        return runLoad(spec, timing, probe);
      },
      assertions: pool,
    };
  }
  // f runs beside a, and h on its own (runDocumentGroup).
  if (id === 'f' || isDocumentTrip(id)) return undefined;
  const spec = side.target[id];
  if (!spec) return undefined;
  return { window: (timing) => runLoad(spec, timing, probe) };
}

/** Scenario `id` on Tessera and, as `peerId`, on the peer, in alternation (lib/alternate.ts). */
async function compare(
  id: ScenarioId,
  tessera: Side,
  peer: Side | undefined,
  peerId: ScenarioId,
  peerName = 'peer',
): Promise<Compared | undefined> {
  const { timing, rounds: count } = options;
  const seconds = timing.warmup + count * timing.duration;
  const ours = await prepare(id, tessera, seconds);
  if (!ours) return undefined;
  const theirs = peer ? await prepare(peerId, peer, seconds) : undefined;
  const {
    ours: results,
    theirs: peerResults,
    rounds,
  } = await alternate(ours.window, theirs?.window, timing, count, (i, r) =>
    log(
      `    round ${i + 1}: ${r.peer_rps === null ? '' : `${peerName} ${r.peer_rps.toLocaleString('en-US')}/s, `}Tessera ${r.rps.toLocaleString('en-US')}/s${r.ratio === null ? '' : ` (${r.ratio}×)`}`,
    ),
  );
  const extra: Record<string, unknown> = {};
  for (const [key, pool] of [
    ['pool_dry', ours.tokens],
    ['peer_pool_dry', theirs?.tokens],
  ] as const) {
    if (pool && pool.dry > 0) {
      log(`    WARNING: a refresh-token pool ran dry ${pool.dry} times (${key}): b is understated`);
      extra[key] = pool.dry;
    }
  }
  for (const [key, pool] of [
    ['assertions_signed_live', ours.assertions],
    ['peer_assertions_signed_live', theirs?.assertions],
  ] as const) {
    if (pool && pool.dry > 0) {
      log(
        `    WARNING: ${pool.dry} assertions were signed during the window (${key}): the generator may have been the limit`,
      );
      extra[key] = pool.dry;
    }
  }
  return {
    result: medianResult(results),
    rss_mb: await rss(tessera.child),
    ...(Object.keys(extra).length ? { extra } : {}),
    ...(peer && peerResults.length
      ? { peer: { result: medianResult(peerResults), rss_mb: await rss(peer.child) } }
      : {}),
    rounds,
  };
}

/** Scenario `id` on Tessera alone, warmed up and measured once (the growth rows). */
async function runAlone(id: ScenarioId, side: Side, timing: Timing): Promise<Measured | undefined> {
  const prepared = await prepare(id, side, timing.warmup + timing.duration);
  if (!prepared) return undefined;
  const result = await prepared.window(timing);
  const dry = prepared.tokens?.dry ?? 0;
  if (dry > 0) log(`    WARNING: the refresh-token pool ran dry ${dry} times: b is understated`);
  return {
    result,
    rss_mb: await rss(side.child),
    ...(dry > 0 ? { extra: { pool_dry: dry } } : {}),
  };
}

/**
 * h (issue 13): the code round trip of a public client registered in the store, and of one whose
 * client_id is the URL of its Client ID Metadata Document, served here on loopback and cacheable
 * for a day, alternated on the same server in rounds like a peer's: each round's ratio divides the
 * document client's throughput by the registered one's measured just before it. The server fetches
 * the document once (before the warm-up); the row records how many fetches the run made.
 */
async function runDocumentGroup(
  server: Child,
  url: string,
  fixtures: TesseraFixtures,
): Promise<[Measured, Measured]> {
  const served = await serveClientDocument();
  try {
    await server.call('document-client', { url: served.clientId, userId: fixtures.user.id });
    const trips = documentTrips(url, fixtures, served.clientId);
    const probe = cpuOf(server);
    log(`  ${SCENARIOS['h-document'].title}, against ${SCENARIOS['h-registered'].title}`);
    const { ours, theirs, rounds } = await alternate(
      (timing) => runRoundTrips(trips['h-document'], timing, probe),
      (timing) => runRoundTrips(trips['h-registered'], timing, probe),
      options.timing,
      options.rounds,
      (i, r) =>
        log(
          `    round ${i + 1}: registered ${r.peer_rps?.toLocaleString('en-US')}/s, document ${r.rps.toLocaleString('en-US')}/s (${r.ratio}×)`,
        ),
    );
    const memory = await rss(server);
    const registered: Measured = { result: medianResult(theirs), rss_mb: memory };
    const document: Measured & { peer: Measured; rounds: Round[] } = {
      result: medianResult(ours),
      rss_mb: memory,
      peer: registered,
      rounds,
      extra: {
        document_fetches: served.fetches(),
        peer_note: 'the peer columns are the registered client’s row, in the same rounds',
      },
    };
    return [registered, document];
  } finally {
    await served.close();
  }
}

// ---------------------------------------------------------------- the peer

/**
 * Starts oidc-provider and signs its person in once; it stays up for the whole run. With `env`
 * naming a PostgreSQL schema (BENCH_PEER_ADAPTER=postgres), it is the durable peer.
 */
async function startPeer(name: string, env: Record<string, string> = {}): Promise<Side> {
  const child = await startChild({
    name,
    script: script('peer'),
    pinning,
    env,
  });
  try {
    const clients = child.ready.clients as PeerClients;
    const fixtures: PeerFixtures = await setUpPeer(
      child.ready.url!,
      clients,
      String(child.ready.account),
    );
    return {
      child,
      target: peerTarget(child.ready.url!, fixtures),
      pool: async (alg, count) =>
        new TokenPool(
          await child.call<string[]>('refresh-pool', {
            token: fixtures.idToken[alg].refreshToken,
            count,
          }),
        ),
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

// ---------------------------------------------------------------- Tessera on one store

interface StoreHandle {
  env: Record<string, string>;
  seed: SeedTarget;
  cleanup(): Promise<void>;
}

async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** How Tessera's server process is started on a store. */
function tesseraChild(store: StoreName, handle: StoreHandle) {
  return {
    name: `tessera-${store}`,
    script: script('tessera'),
    pinning,
    env: { ...handle.env, BENCH_SECRET: randomToken(32) },
  };
}

/** A started Tessera as the scenarios see it: its fixtures, its requests, its token pool. */
async function tesseraSide(server: Child, handle: StoreHandle) {
  const url = server.ready.url!;
  const fixtures = await server.call<TesseraFixtures>('fixtures');
  const side: Side = {
    child: server,
    target: tesseraTarget(url, fixtures),
    pool: async (alg, count) =>
      new TokenPool(await seedRefreshPool(handle.seed, fixtures, count, alg)),
  };
  return { url, fixtures, side };
}

function openStoreHandle(store: StoreName): StoreHandle {
  if (store === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
    const path = join(dir, 'tessera.sqlite');
    return {
      env: { BENCH_STORE: 'sqlite', BENCH_SQLITE_PATH: path },
      seed: { dialect: 'sqlite', path },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `bench_${process.pid}_${randomToken(4)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;
  return {
    env: { BENCH_STORE: 'postgres', BENCH_PG_URL: options.postgresUrl, BENCH_PG_SCHEMA: schema },
    seed: { dialect: 'postgres', url: options.postgresUrl, schema },
    cleanup: () => dropPostgresSchema(options.postgresUrl, schema),
  };
}

function row(
  id: ScenarioId,
  store: StoreName,
  measured: Measured & { peer?: Measured; rounds?: Round[]; durable?: Compared },
  ceilings: Ceilings,
): Row {
  const { result, peer, rounds, durable } = measured;
  const scenario = SCENARIOS[id];
  const ceilingRps =
    scenario.ceiling === 'signing' ? ceilings.signing.jose_rps : ceilings.transport.rps;
  // A round trip is two requests: its share of the transport ceiling counts both.
  const trip = isRoundTrip(id) || isDocumentTrip(id);
  const requestsPerUnit = trip ? 2 : 1;
  return {
    scenario: id,
    title: scenario.title,
    store,
    unit: trip ? 'round trips' : id === 'f' ? 'sign-ins' : 'requests',
    ...(isRefresh(id) || isRoundTrip(id) ? { id_token_alg: idTokenAlgOf(id) } : {}),
    rps: result.rps,
    p50_ms: result.p50_ms,
    p99_ms: result.p99_ms,
    cpu_us: result.cpu_us ?? null,
    busy: result.busy ?? null,
    peer_rps: peer?.result.rps ?? null,
    peer_p50_ms: peer?.result.p50_ms ?? null,
    peer_p99_ms: peer?.result.p99_ms ?? null,
    peer_cpu_us: peer?.result.cpu_us ?? null,
    // The median of the rounds' ratios, each against the peer measured just before.
    ...ratioSummary(rounds ?? []),
    ...(rounds ? { rounds } : {}),
    cpu_ratio_vs_peer:
      peer?.result.cpu_us && result.cpu_us ? round(peer.result.cpu_us / result.cpu_us, 2) : null,
    ceiling: scenario.ceiling,
    ceiling_rps: ceilingRps,
    ceiling_cpu_us: scenario.ceiling === 'transport' ? (ceilings.transport.cpu_us ?? null) : null,
    fraction_of_ceiling: round((result.rps * requestsPerUnit) / ceilingRps, 3),
    rss_mb: measured.rss_mb,
    failures: result.unexpected + result.errors,
    ...(durable?.peer ? durableFields(durable) : {}),
    ...(id === 'a' ? { raw_sign_rps: ceilings.signing.node_crypto_rps } : {}),
    ...(isRefresh(id) && result.cpu_us ? cpuBesideSignatures(id, result.cpu_us, ceilings) : {}),
    ...(id === 'c-jwt' && peer ? { peer_note: 'the peer introspects its opaque token' } : {}),
    ...measured.extra,
  };
}

/** The comparison with the durable peer: its figures, and the ratio of rounds made beside it. */
function durableFields(durable: Compared) {
  const ratios = ratioSummary(durable.rounds);
  return {
    durable_peer_rps: durable.peer?.result.rps ?? null,
    durable_peer_p99_ms: durable.peer?.result.p99_ms ?? null,
    durable_peer_cpu_us: durable.peer?.result.cpu_us ?? null,
    durable_ratio_vs_peer: ratios.ratio_vs_peer,
    durable_ratio_min: ratios.ratio_min,
    durable_ratio_max: ratios.ratio_max,
    durable_rounds: durable.rounds,
  };
}

/**
 * A refresh signs an ES256 access token and an ID token of the client's algorithm: their CPU, as
 * node:crypto's sign() alone measured on the server core in the same run, and what is left.
 */
function cpuBesideSignatures(id: RefreshId, cpuUs: number, ceilings: Ceilings) {
  const es256 = 1e6 / ceilings.signing.node_crypto_rps;
  const idToken =
    idTokenAlgOf(id) === 'ES256' ? es256 : 1e6 / ceilings.signing.node_crypto_rs256_rps;
  const signatures = es256 + idToken;
  return {
    signatures_us: round(signatures),
    cpu_minus_signatures_us: round(cpuUs - signatures),
  };
}

/**
 * Tessera's rows on one store. The ceilings are measured on the same core right before the rows
 * that are most divided by them (signing before a, transport before d), so that the machine's
 * drift from minute to minute (see bench/README.md) weighs as little as it can on the fractions.
 */
async function runTessera(
  store: StoreName,
  peer: Side | undefined,
  durable: Side | undefined,
): Promise<{ rows: Row[]; ceilings: Ceilings }> {
  log(`Tessera on ${store === 'sqlite' ? 'SQLite (temp file, WAL)' : 'PostgreSQL (own schema)'}`);
  const handle = openStoreHandle(store);
  // Made once every scenario ran: each row divides by a ceiling measured beside it.
  const pending: ((ceilings: Ceilings) => Row)[] = [];
  const measuredCeilings: Partial<Ceilings> = {};
  let server: Child | undefined;
  try {
    server = await startChild(tesseraChild(store, handle));
    const { url, fixtures, side } = await tesseraSide(server, handle);
    const target = side.target;
    const print = (title: string, m: Measured) =>
      log(`  ${title.padEnd(44)} ${describe(m.result)}  RSS ${m.rss_mb} MB`);

    let aMeasured: Measured | undefined;
    for (const id of Object.keys(SCENARIOS) as ScenarioId[]) {
      if (id === 'f' || isDocumentTrip(id) || !included(id)) continue;
      if (id === 'a') measuredCeilings.signing = await measureSigning();
      if (id === 'd') measuredCeilings.transport = await measureTransport();
      // b's CPU target subtracts its signatures at the rate signing reaches right before its
      // rounds, not minutes earlier before a: this machine's speed drifts that much.
      const signingNow = isRefresh(id) ? await measureSigning() : undefined;
      log(`  ${SCENARIOS[id].title}`);
      // The peer cannot introspect JWT access tokens: c-jwt is compared with its opaque one.
      const peerId = id === 'c-jwt' ? 'c-opaque' : id;
      const measured = await compare(id, side, peer, peerId);
      if (!measured) continue;
      if (measured.peer) print('  the peer, median of the rounds', measured.peer);
      print('  Tessera, median of the rounds', measured);
      // The durable peer: its own alternated rounds against Tessera, right after.
      const against = durable
        ? await compare(id, side, durable, peerId, 'durable peer')
        : undefined;
      if (against?.peer) {
        print('  the durable peer, median of the rounds', against.peer);
        print('  Tessera beside it, median of the rounds', against);
        measured.durable = against;
      }
      if (id === 'a') aMeasured = measured;
      pending.push((c) => row(id, store, measured, signingNow ? { ...c, signing: signingNow } : c));
    }

    if (included('f')) {
      // f: sign-ins beside a, against a alone just before.
      const signIn = await signInSpec(url, fixtures);
      const signInTiming = { ...options.timing, connections: options.signInConnections };
      // A quick run takes a's own row as "alone"; a full run measures it again just before.
      const aRow = aMeasured?.result;
      const aAlone: LoadResult =
        options.quick && aRow
          ? {
              rps: aRow.rps,
              p50_ms: aRow.p50_ms,
              p99_ms: aRow.p99_ms,
              responses: 0,
              unexpected: 0,
              errors: 0,
            }
          : await runLoad(target.a, options.timing, cpuOf(server));
      await runLoad(signIn, {
        ...signInTiming,
        warmup: 0,
        duration: Math.min(1, options.timing.warmup),
      });
      const [aDuring, signIns] = await Promise.all([
        measure(target.a, options.timing),
        measure(signIn, signInTiming),
      ]);
      const f: Measured = {
        result: signIns,
        rss_mb: await rss(server),
        extra: {
          sign_in_connections: options.signInConnections,
          a_rps_alone: aAlone.rps,
          a_p99_alone_ms: aAlone.p99_ms,
          a_rps_during: aDuring.rps,
          a_p99_during_ms: aDuring.p99_ms,
          a_p99_ratio: aAlone.p99_ms ? round(aDuring.p99_ms / aAlone.p99_ms, 2) : null,
        },
      };
      print(SCENARIOS.f.title, f);
      log(`    a alone ${describe(aAlone)}\n    a during sign-ins ${describe(aDuring)}`);
      pending.push((c) => row('f', store, f, c));
    }

    if (DOCUMENT_TRIP_IDS.some(included)) {
      const [registered, document] = await runDocumentGroup(server, url, fixtures);
      print(SCENARIOS['h-registered'].title, registered);
      print(SCENARIOS['h-document'].title, document);
      pending.push((c) => row('h-registered', store, registered, c));
      pending.push((c) => row('h-document', store, document, c));
    }

    const growthIds = (options.quick ? QUICK_GROWTH_IDS : GROWTH_IDS).filter(included);
    if (options.growth && growthIds.length > 0) {
      // The token cache would answer c and d without touching the store, large or not: the
      // growth rows read every token from the store, on an empty store and then on a large one.
      // The server rebuilds its app with the cache off, on the same port, store and keys.
      await server.call('token-cache', 0);
      await settle(handle.seed);
      const growthTiming = options.quick
        ? { ...options.timing, warmup: Math.min(options.timing.warmup, 0.5) }
        : options.timing;
      const baseline = new Map<ScenarioId, number>();
      for (const id of growthIds) {
        const measured = await runAlone(id, side, growthTiming);
        if (!measured) continue;
        print(`${SCENARIOS[id].title} (token cache off)`, measured);
        baseline.set(id, measured.result.rps);
        pending.push((c) => ({
          ...row(id, store, measured, c),
          scenario: `${id}@uncached`,
        }));
      }

      const counts = { tokens: options.growthTokens, users: options.growthUsers };
      const seeding = performance.now();
      await seedGrowth(
        handle.seed,
        counts,
        [fixtures.web.id, fixtures.opaque.id, fixtures.roundTrip.id],
        url,
      );
      log(
        `  large store: ${counts.tokens.toLocaleString('en-US')} more tokens and ${counts.users.toLocaleString('en-US')} more people, seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s${options.quick ? ' (--quick: the full run uses 1,000,000 tokens and 100,000 people)' : ''}`,
      );
      for (const id of growthIds) {
        const measured = await runAlone(id, side, growthTiming);
        if (!measured) continue;
        print(`${SCENARIOS[id].title} (large store, token cache off)`, measured);
        const empty = baseline.get(id);
        pending.push((c) => ({
          ...row(id, store, measured, c),
          scenario: `${id}@large`,
          stored_tokens: counts.tokens,
          stored_users: counts.users,
          vs_empty: empty ? round(measured.result.rps / empty, 3) : null,
        }));
      }
    }
    // A run without a or d (--only) still divides by both.
    measuredCeilings.signing ??= await measureSigning();
    measuredCeilings.transport ??= await measureTransport();
  } finally {
    await server?.stop();
    await handle.cleanup();
  }
  const ceilings = measuredCeilings as Ceilings;
  return { rows: pending.map((make) => make(ceilings)), ceilings };
}

// ---------------------------------------------------------------- profiles

/** The hot paths profiled by --profile: the issue asks for a, c and d; b and e explain themselves too. */
const PROFILED: ScenarioId[] = [
  'a',
  'c-jwt',
  'c-opaque',
  'd',
  'b-rs256',
  'b-es256',
  'e-rs256',
  'e-es256',
  'g-pkjwt',
];

/** A scenario profiled on one server: the summary, and how its time divides per operation. */
async function profileOne(
  id: ScenarioId,
  side: Side,
  name: string,
  dir: string,
): Promise<Record<string, number> | undefined> {
  const warm: Timing = { ...options.timing, duration: options.timing.warmup, warmup: 0 };
  const measured: Timing = { ...options.timing, warmup: 0 };
  // Each scenario warms up, then is profiled over exactly its measured window.
  const prepared = await prepare(id, side, options.timing.warmup + options.timing.duration);
  if (!prepared) return undefined;
  await prepared.window(warm);
  await side.child.call('profile-start');
  const result = await prepared.window(measured);
  const file = join(dir, `${date}-${name}-${id}.cpuprofile`);
  await side.child.call('profile-stop', file);
  log(`${SCENARIOS[id].title} on ${name}, profiled: ${describe(result)}`);
  const operations = result.responses - result.unexpected - result.errors;
  const summary = summarize(file);
  const text = formatSummary(file, summary, operations);
  writeFileSync(file.replace(/\.cpuprofile$/, '.txt'), `${text}\n`);
  log(text);
  log();
  return { ...perOperation(summary, operations), cpu_us: result.cpu_us ?? 0, operations };
}

/**
 * Profiles Tessera on each store and, for b and e, the in-memory peer beside it, and writes how
 * one operation's time divides (signatures, database, HTTP, GC, the rest) for each, to
 * bench/results/profiles/<date>-split.json and the log.
 */
async function runProfiles(stores: StoreName[]): Promise<void> {
  const dir = join(process.cwd(), 'bench', 'results', 'profiles');
  mkdirSync(dir, { recursive: true });
  const splits: Record<string, Record<string, number>> = {};
  const peer = options.peer ? await startPeer('peer') : undefined;
  try {
    for (const store of stores) {
      const handle = openStoreHandle(store);
      let server: Child | undefined;
      try {
        server = await startChild(tesseraChild(store, handle));
        const { side } = await tesseraSide(server, handle);
        for (const id of PROFILED) {
          if (!included(id)) continue;
          const split = await profileOne(id, side, store, dir);
          if (split) splits[`${id} tessera-${store}`] = split;
        }
      } finally {
        await server?.stop();
        await handle.cleanup();
      }
    }
    for (const id of PROFILED) {
      if (!peer || !included(id) || !(isRefresh(id) || isRoundTrip(id) || id === 'g-pkjwt'))
        continue;
      const split = await profileOne(id, peer, 'peer', dir);
      if (split) splits[`${id} peer`] = split;
    }
  } finally {
    await peer?.child.stop();
  }
  // Added to the day's file: a run of some rows or one store keeps the others' splits.
  const file = join(dir, `${date}-split.json`);
  const earlier = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as typeof splits) : {};
  writeFileSync(file, `${JSON.stringify({ ...earlier, ...splits }, null, 2)}\n`);
  log(
    'µs of one operation (main thread, sampled): signatures, database, HTTP, GC, the rest; total',
  );
  for (const [key, split] of Object.entries(splits))
    log(
      `  ${key.padEnd(24)} ${['signatures', 'database', 'HTTP', 'GC', 'the rest', 'total'].map((part) => String(split[part] ?? 0).padStart(6)).join(' ')}   (CPU µs/op ${split.cpu_us})`,
    );
  log(`written to ${file}`);
}

// ---------------------------------------------------------------- main

async function main(opts: BenchOptions): Promise<void> {
  log(
    `Tessera benchmark, ${date}: ${machine.cpu}, ${machine.nproc} cores (nproc), Node ${machine.node}`,
  );
  log(pinning.note);
  log(await backgroundLoad());
  log(
    `${opts.quick ? 'QUICK run' : 'full run'}: ${opts.timing.warmup} s warm-up, then ${opts.rounds} rounds of ${opts.timing.duration} s per server and scenario (peer, Tessera, peer, …), ${opts.timing.connections} keep-alive connections, one request in flight each`,
  );
  let stores = opts.stores;
  if (stores.includes('postgres') && !(await postgresReachable(opts.postgresUrl))) {
    log(`WARNING: PostgreSQL at ${opts.postgresUrl} is unreachable: its scenarios are skipped`);
    stores = stores.filter((s) => s !== 'postgres');
  }
  log();
  if (opts.profile) {
    await runProfiles(stores);
    return;
  }

  // The peer (in memory) stays up beside each store's Tessera, idle while the other is measured.
  const peer = opts.peer ? await startPeer('peer') : undefined;
  // The durable peer: oidc-provider on the run's PostgreSQL, in a schema of its own.
  const durableSchema = `bench_peer_${process.pid}`;
  let durable: Side | undefined;
  const rows: Row[] = [];
  const ceilingNotes: string[] = [];
  try {
    if (opts.peer && opts.durablePeer) {
      if (await postgresReachable(opts.postgresUrl)) {
        durable = await startPeer('durable-peer', {
          BENCH_PEER_ADAPTER: 'postgres',
          BENCH_PG_URL: opts.postgresUrl,
          BENCH_PG_SCHEMA: durableSchema,
        });
      } else log('WARNING: no PostgreSQL: the durable peer is skipped');
    }
    for (const store of stores) {
      const measured = await runTessera(store, peer, durable);
      rows.push(...measured.rows);
      ceilingNotes.push(
        `${store} transport ${measured.ceilings.transport.rps.toLocaleString('en-US')}/s, ES256 signing (jose) ${measured.ceilings.signing.jose_rps.toLocaleString('en-US')}/s`,
      );
      log();
    }
  } finally {
    await peer?.child.stop();
    if (durable) {
      await durable.child.stop();
      await dropPostgresSchema(opts.postgresUrl, durableSchema);
    }
  }

  const table = markdownTable(rows);
  const checks = checkTargets(rows, stores);
  const targets = targetsTable(checks);
  const header = `Tessera benchmark ${date}${opts.quick ? ' (quick)' : ''}${opts.only ? `, only ${opts.only.join(', ')}` : ''}: ${machine.cpu}, ${machine.nproc} cores, Node ${machine.node}; ${pinning.pinned ? `server on core 0, load generator on core 1` : 'unpinned'}; ${opts.timing.warmup} s warm-up, then ${opts.rounds} rounds of ${opts.timing.duration} s per server, the peer's and Tessera's alternated; ${opts.timing.connections} connections. Ceilings, measured on the server core beside each store's rows: ${ceilingNotes.join('; ')}.`;
  log(header);
  log();
  log(table);
  log();
  log(targets);
  log();

  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // A variant or partial run never overwrites the full results of the day.
  const variant = opts.only ? '-partial' : '';
  const base = join(dir, `${date}${opts.quick ? '-quick' : ''}${variant}`);
  // The rows and every target's verdict; `run` says how they were measured.
  const document = {
    run: { date, quick: opts.quick, rounds: opts.rounds, header },
    rows,
    targets: checks,
  };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  writeFileSync(`${base}.json`, json);
  writeFileSync(`${base}.md`, `${header}\n\n${table}\n\n${targets}\n`);
  if (opts.json) writeFileSync(opts.json, json);
  log(
    `Results: ${base}.json and ${base}.md${opts.json ? ` and ${opts.json}` : ''} (${elapsed()} in all)`,
  );
}

try {
  await main(options);
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}
