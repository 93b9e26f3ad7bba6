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

/** How the title of a variant row ends. */
const SUFFIX: Record<string, string> = {
  uncached: ' (token cache off)',
  large: ' (large store, token cache off)',
};

/** The median ratio and, when there were rounds, their spread: "0.78× (0.70–0.85)". */
function ratioCell(row: Row, prefix: '' | 'durable_' = ''): string {
  const median = row[`${prefix}ratio_vs_peer`];
  const min = row[`${prefix}ratio_min`];
  const max = row[`${prefix}ratio_max`];
  if (typeof median !== 'number') return '–';
  const spread =
    typeof min === 'number' && typeof max === 'number' ? ` (${fmt(min, 2)}–${fmt(max, 2)})` : '';
  return `${fmt(median, 2)}×${spread}`;
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| scenario | store | per s | p50 ms | p99 ms | CPU µs/op | peer per s | peer p99 ms | peer CPU µs/op | × peer, median (min–max) | durable peer per s | × durable peer | ceiling | of ceiling | RSS MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.title}${SUFFIX[row.scenario.split('@')[1] ?? ''] ?? ''} | ${row.store} | ${fmt(row.rps)} | ${fmt(row.p50_ms, 2)} | ${fmt(row.p99_ms, 2)} | ${fmt(row.cpu_us)} | ${fmt(row.peer_rps)} | ${fmt(row.peer_p99_ms, 2)} | ${fmt(row.peer_cpu_us as number | null)} | ${ratioCell(row)} | ${fmt(row.durable_peer_rps as number | null | undefined)} | ${ratioCell(row, 'durable_')} | ${row.ceiling} ${fmt(row.ceiling_rps)} | ${pct(row.fraction_of_ceiling)} | ${fmt(row.rss_mb)} |`,
    );
  }
  return lines.join('\n');
}
