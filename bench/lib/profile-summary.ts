import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/*
 * Reads a .cpuprofile (V8's format, as `node --cpu-prof` writes it) and says
 * where the time went: self time by function, self time by area (our src/,
 * each package, Node's internals, GC), and inclusive time of our own functions.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  bySelf: Share[];
  byArea: Share[];
  /** Our own functions (src/), with everything they call. */
  srcInclusive: Share[];
  /** Every sample in one of SPLIT's parts, with everything it calls (see splitOf). */
  split: Share[];
}

/** The parts one request's time is divided into, in the report's order. */
export const SPLIT = ['signatures', 'database', 'HTTP', 'GC', 'the rest'] as const;
type Part = (typeof SPLIT)[number];

/** Packages that receive, route, parse and answer HTTP requests, in either server. */
const HTTP_PACKAGES = new Set([
  'fastify',
  'find-my-way',
  'fast-querystring',
  'fast-json-stringify',
  'fast-content-type-parse',
  'secure-json-parse',
  'light-my-request',
  'avvio',
  'toad-cache',
  '@fastify/cookie',
  '@fastify/formbody',
  '@fastify/static',
  'cookie',
  'koa',
  'koa-compose',
  '@koa/router',
  'koa-router',
  'raw-body',
  'content-type',
  'cookies',
  'keygrip',
  'statuses',
  'http-errors',
  'on-finished',
  'accepts',
  'type-is',
  'mime-types',
  'negotiator',
  'vary',
  'destroy',
  'ee-first',
  'iconv-lite',
  'bytes',
]);

const DATABASE =
  /node_modules\/(kysely|better-sqlite3|pg|pg-pool|pg-protocol|postgres)\/|\/src\/store\/|\/bench\/servers\/peer(-pg)?-adapter/;

/**
 * A frame of a signature: node:crypto's sign() (Tessera, synchronous) or WebCrypto's
 * `subtle.sign`, which jose 6 (the peer's) calls, its job started and awaited on the main thread.
 */
function signing(frame: CallFrame): boolean {
  return (
    frame.url === 'node:internal/crypto/sig' ||
    frame.functionName === 'SignJob' ||
    (frame.url === 'node:internal/crypto/webcrypto' && frame.functionName === 'signVerify') ||
    /^node:internal\/crypto\/(rsa|ec|cfrg)$/.test(frame.url)
  );
}

/**
 * Which part a sample belongs to, from its stack (leaf first): the signing (or verifying)
 * operation of node:crypto or WebCrypto under whatever library called it; any work done for a store query
 * (query building, the driver, the wait in a synchronous SQLite call, our store code, the peer's
 * adapter); GC; HTTP when the innermost JavaScript frame is the web framework's, Node's HTTP and
 * socket code, or our src/http glue; everything else (the protocol: parsing parameters, checking
 * the client and the grant, building tokens and the answer) is "the rest".
 */
function splitOf(stack: CallFrame[]): Part {
  if (stack.some(signing)) return 'signatures';
  if (stack.some((f) => DATABASE.test(f.url))) return 'database';
  const leaf = stack[0];
  if (leaf?.functionName === '(garbage collector)') return 'GC';
  const js = stack.find((f) => f.url);
  if (!js) return 'the rest';
  const where = area(js);
  if (
    HTTP_PACKAGES.has(where) ||
    where === 'src/http' ||
    /^node:(_http|net|internal\/(stream|streams|http|net|stream_base_commons|js_stream_socket))/.test(
      js.url,
    )
  )
    return 'HTTP';
  return 'the rest';
}

const root = process.cwd();
/** See summarize: how much of one sample's gap is counted at most. */
const LONGEST_SAMPLE_US = 5_000;

function place(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return '';
  return `${relative(root, url)}:${frame.lineNumber + 1}`;
}

function area(frame: CallFrame): string {
  const url = frame.url;
  if (!url) {
    if (frame.functionName === '(garbage collector)') return 'GC';
    if (frame.functionName === '(idle)') return 'idle';
    if (frame.functionName === '(program)') return 'program (native, unattributed)';
    return 'native';
  }
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(src|bench)\/(.*)$/.exec(url);
  if (ours) return ours[1] === 'src' ? `src/${ours[2]!.split('/')[0]}` : 'bench';
  return 'other';
}

function sorted(map: Map<string, number>, totalMs: number, limit: number): Share[] {
  return [...map]
    .map(([name, ms]) => ({ name, ms: Math.round(ms), share: ms / totalMs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit);
}

export function summarize(file: string, limit = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const parts = new Map<string, number>(SPLIT.map((part) => [part, 0]));
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    // The first delta runs from the profiler's start-up, not from a sample: skip it.
    if (i === 0) return;
    // A gap far longer than the 1 ms interval is the thread descheduled (another process had
    // the core), not the function running: it counts as one long sample, not the whole gap.
    const ms = Math.min(profile.timeDeltas[i] ?? 0, LONGEST_SAMPLE_US) / 1000;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === '(idle)') return;
    totalMs += ms;
    const frame = node.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${place(frame)}`.trim();
    self.set(key, (self.get(key) ?? 0) + ms);
    const a = area(frame);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const stack: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
      stack.push(byId.get(at)!.callFrame);
    const part = splitOf(stack);
    parts.set(part, (parts.get(part) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url.includes('/src/')) continue;
      const k = `${f.functionName || '(anonymous)'} ${place(f)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  });
  return {
    totalMs: Math.round(totalMs),
    bySelf: sorted(self, totalMs, limit),
    byArea: sorted(areas, totalMs, limit),
    srcInclusive: sorted(inclusive, totalMs, limit),
    split: SPLIT.map((name) => {
      const ms = parts.get(name) ?? 0;
      return { name, ms: Math.round(ms), share: totalMs ? ms / totalMs : 0 };
    }),
  };
}

/**
 * The split of one request's time, in µs, when the profile covered `operations` requests. Sampled
 * time is the main thread's, on or off the CPU: a synchronous call that waits in the kernel (a
 * SQLite commit's writes) counts as its part's.
 */
export function perOperation(summary: ProfileSummary, operations: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of summary.split)
    out[part.name] = operations > 0 ? Math.round((part.ms * 1000) / operations) : 0;
  out.total = operations > 0 ? Math.round((summary.totalMs * 1000) / operations) : 0;
  return out;
}

export function formatSummary(title: string, summary: ProfileSummary, operations?: number): string {
  const table = (heading: string, shares: Share[]) =>
    [
      `  ${heading}`,
      ...shares.map(
        (s) =>
          `    ${(s.share * 100).toFixed(1).padStart(5)}%  ${String(s.ms).padStart(6)} ms  ${s.name}`,
      ),
    ].join('\n');
  return [
    `${title}: ${summary.totalMs} ms of CPU (idle excluded)`,
    table('split (each sample by its whole stack: see splitOf)', summary.split),
    ...(operations
      ? [
          `  per request (${operations} requests): ${Object.entries(
            perOperation(summary, operations),
          )
            .map(([name, us]) => `${name} ${us} µs`)
            .join(', ')}`,
        ]
      : []),
    table('by area (self time)', summary.byArea),
    table('top functions (self time)', summary.bySelf),
    table('our functions (inclusive)', summary.srcInclusive),
  ].join('\n');
}

// `node --import tsx bench/lib/profile-summary.ts FILE…` summarises saved profiles.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2))
    process.stdout.write(`${formatSummary(file, summarize(file))}\n\n`);
}
