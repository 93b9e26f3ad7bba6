/** One scenario on one store: what the JSON file holds, one object each. */
export interface Row {
  /**
   * a, b, c-jwt, c-opaque, d, e, f; `@uncached` after it for the token cache turned off,
   * `@large` for the same on the large store.
   */
  scenario: string;
  title: string;
  store: 'sqlite' | 'postgres';
  /** What rps counts: requests, code round trips (two requests each) or sign-ins. */
  unit: 'requests' | 'round trips' | 'sign-ins';
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** The server's CPU time per operation (µs): steadier than rps on a shared machine. */
  cpu_us: number | null;
  peer_rps: number | null;
  peer_p50_ms: number | null;
  peer_p99_ms: number | null;
  /** The median of the per-round ratios (Tessera ÷ the peer measured just before it). */
  ratio_vs_peer: number | null;
  /** The spread of the per-round ratios. */
  ratio_min?: number | null;
  ratio_max?: number | null;
  ceiling: 'signing' | 'transport';
  ceiling_rps: number;
  fraction_of_ceiling: number;
  /** The server's resident memory after the scenario. */
  rss_mb: number;
  /** Responses that were not the expected success, and socket errors. */
  failures: number;
  [extra: string]: unknown;
}

const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined
    ? '–'
    : value.toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });
const pct = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${Math.round(value * 100)}%`;
/** For a target's verdict: one decimal, so that 59.8% does not read as a 60% that failed. */
const pctExact = (value: number) => `${(value * 100).toFixed(1)}%`;

/** How the title of a variant row ends. */
const SUFFIX: Record<string, string> = {
  uncached: ' (token cache off)',
  large: ' (large store, token cache off)',
};

/** The median ratio and, when there were rounds, their spread: "0.78× (0.70–0.85)". */
function ratioCell(row: Row): string {
  if (row.ratio_vs_peer === null) return '–';
  const spread =
    typeof row.ratio_min === 'number' && typeof row.ratio_max === 'number'
      ? ` (${fmt(row.ratio_min, 2)}–${fmt(row.ratio_max, 2)})`
      : '';
  return `${fmt(row.ratio_vs_peer, 2)}×${spread}`;
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| scenario | store | per s | p50 ms | p99 ms | CPU µs/op | peer per s | peer p99 ms | peer CPU µs/op | × peer, median (min–max) | ceiling | of ceiling | RSS MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.title}${SUFFIX[row.scenario.split('@')[1] ?? ''] ?? ''} | ${row.store} | ${fmt(row.rps)} | ${fmt(row.p50_ms, 2)} | ${fmt(row.p99_ms, 2)} | ${fmt(row.cpu_us)} | ${fmt(row.peer_rps)} | ${fmt(row.peer_p99_ms, 2)} | ${fmt(row.peer_cpu_us as number | null)} | ${ratioCell(row)} | ${row.ceiling} ${fmt(row.ceiling_rps)} | ${pct(row.fraction_of_ceiling)} | ${fmt(row.rss_mb)} |`,
    );
  }
  return lines.join('\n');
}

export interface Check {
  target: string;
  store: string;
  value: string;
  met: boolean;
}

/** The targets, each checked against this run. */
export function checkTargets(rows: Row[]): Check[] {
  const checks: Check[] = [];
  for (const row of rows) {
    if (row.scenario.endsWith('@large')) {
      const ratio = row.vs_empty as number | undefined;
      if (ratio !== undefined) {
        checks.push({
          target: `${row.scenario}: ≥ 80% of the empty-store throughput`,
          store: row.store,
          value: pctExact(ratio),
          met: ratio >= 0.8,
        });
      }
      continue;
    }
    // The empty-store baseline of the growth rows: the targets are the product's, cache on.
    if (row.scenario.endsWith('@uncached')) continue;
    if (row.peer_rps !== null && row.ratio_vs_peer !== null) {
      checks.push({
        target: `${row.scenario}: ≥ 2× oidc-provider, lower p99`,
        store: row.store,
        value: `${fmt(row.ratio_vs_peer, 2)}×, p99 ${fmt(row.p99_ms, 2)} vs ${fmt(row.peer_p99_ms, 2)} ms`,
        met: row.ratio_vs_peer >= 2 && row.p99_ms < (row.peer_p99_ms ?? Infinity),
      });
    }
    if (row.scenario === 'a')
      checks.push({
        target: 'a: ≥ 60% of the signing ceiling',
        store: row.store,
        value: pctExact(row.fraction_of_ceiling),
        met: row.fraction_of_ceiling >= 0.6,
      });
    if (row.scenario === 'd')
      checks.push({
        target: 'd: ≥ 50% of the transport ceiling',
        store: row.store,
        value: pctExact(row.fraction_of_ceiling),
        met: row.fraction_of_ceiling >= 0.5,
      });
    if (row.scenario === 'f' && typeof row.a_p99_ratio === 'number')
      checks.push({
        target: "f: a's p99 during sign-ins ≤ 2× without",
        store: row.store,
        value: `${fmt(row.a_p99_ratio, 2)}× (${fmt(row.a_p99_alone_ms as number, 2)} → ${fmt(row.a_p99_during_ms as number, 2)} ms)`,
        met: row.a_p99_ratio <= 2,
      });
  }
  return checks;
}

export function targetsTable(checks: Check[]): string {
  const lines = ['| target | store | this run | met |', '| --- | --- | --- | --- |'];
  for (const c of checks)
    lines.push(`| ${c.target} | ${c.store} | ${c.value} | ${c.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}
