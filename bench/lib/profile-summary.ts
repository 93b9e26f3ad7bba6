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
}

const root = process.cwd();

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
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    // The first delta runs from the profiler's start-up, not from a sample: skip it.
    if (i === 0) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === '(idle)') return;
    totalMs += ms;
    const frame = node.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${place(frame)}`.trim();
    self.set(key, (self.get(key) ?? 0) + ms);
    const a = area(frame);
    areas.set(a, (areas.get(a) ?? 0) + ms);
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
  };
}

export function formatSummary(title: string, summary: ProfileSummary): string {
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
