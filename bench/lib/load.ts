import autocannon, { type Request } from 'autocannon';
import { Latencies, round } from './stats.js';

export interface Timing {
  /** Seconds of load whose results are thrown away (JIT, caches, connection pools). */
  warmup: number;
  /** Seconds measured. */
  duration: number;
  connections: number;
}

/** One HTTP request shape, sent over and over by every connection. */
export interface LoadSpec {
  /** Base URL of the server, e.g. http://127.0.0.1:41234 */
  url: string;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Builds each request (a fresh refresh token, …). */
  setupRequest?: Request['setupRequest'];
  /** The status class that counts as a success: 2 (default) or 3 (a redirect). */
  expect?: 2 | 3;
}

export interface LoadResult {
  /** Successful responses per second over the measured window. */
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Responses in the measured window, successful or not. */
  responses: number;
  /** Responses of another status class than expected. */
  unexpected: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** The unexpected status codes seen, with counts. */
  statuses?: Record<string, number>;
  /** The server's CPU time (user + system) per successful operation, in microseconds. */
  cpu_us?: number;
  /** The server's CPU time over the wall time of the window: below ~0.9 it waited on something. */
  busy?: number;
}

/**
 * Reads the server's CPU time so far (µs). CPU per operation barely moves when
 * other work shares the machine, where throughput does: it is the steadier
 * figure for comparing two versions of the same server.
 */
export type CpuProbe = () => Promise<number>;

/** Wraps a measured window with the server's CPU clock. */
export async function withCpu(
  probe: CpuProbe | undefined,
  window: () => Promise<LoadResult>,
): Promise<LoadResult> {
  if (!probe) return window();
  const cpu0 = await probe();
  const t0 = performance.now();
  const result = await window();
  const cpu1 = await probe();
  const wallUs = (performance.now() - t0) * 1000;
  const good = result.responses - result.unexpected;
  return {
    ...result,
    cpu_us: good > 0 ? round((cpu1 - cpu0) / good) : 0,
    busy: round((cpu1 - cpu0) / wallUs, 2),
  };
}

function once(spec: LoadSpec, seconds: number, connections: number, record: boolean) {
  const latencies = new Latencies();
  let good = 0;
  let bad = 0;
  const statuses: Record<string, number> = {};
  const expected = spec.expect ?? 2;
  const instance = autocannon({
    // autocannon takes the path from the URL; a separate `path` option is ignored.
    url: new URL(spec.path, spec.url).href,
    method: spec.method ?? 'GET',
    path: spec.path,
    headers: spec.headers ?? {},
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.setupRequest ? { requests: [{ setupRequest: spec.setupRequest }] } : {}),
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
  if (record) {
    // autocannon's own histogram keeps whole milliseconds; these keep microseconds.
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.add(ms);
      if (Math.floor(status / 100) === expected) good += 1;
      else {
        bad += 1;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    });
  }
  return { instance, latencies, counts: () => ({ good, bad, statuses }) };
}

/**
 * Runs the load for `warmup` seconds (discarded), then for `duration` seconds
 * with `connections` keep-alive connections, one request in flight on each.
 */
export async function runLoad(
  spec: LoadSpec,
  timing: Timing,
  probe?: CpuProbe,
): Promise<LoadResult> {
  if (timing.warmup > 0) await once(spec, timing.warmup, timing.connections, false).instance;
  return withCpu(probe, () => measure(spec, timing));
}

/** The measured part alone (the caller has warmed up), so two loads can run side by side. */
export async function measure(spec: LoadSpec, timing: Timing): Promise<LoadResult> {
  const run = once(spec, timing.duration, timing.connections, true);
  const result = await run.instance;
  const { good, bad, statuses } = run.counts();
  return {
    rps: round(good / result.duration),
    ...run.latencies.percentiles(),
    responses: good + bad,
    unexpected: bad,
    errors: result.errors + result.timeouts,
    ...(bad > 0 ? { statuses } : {}),
  };
}
