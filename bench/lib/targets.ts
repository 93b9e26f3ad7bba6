import type { StoreName } from './options.js';
import type { Row } from './report.js';

/** One of issue 11's targets on one store, checked against this run. */
export interface TargetCheck {
  id: string;
  store: StoreName;
  /** What this run measured: a ratio (×), a fraction (growth) or µs; null when not measured. */
  value: number | null;
  /** The goal as a sentence's end: "≥ 2×", "≥ 80%", "≤ 250 µs". */
  goal: string;
  /** null: not measured in this run (the note says why). */
  met: boolean | null;
  /** What is compared, for the report. */
  description: string;
  /** The spread of the rounds, or why it was not measured. */
  note?: string;
}

type Unit = '×' | '%' | 'µs';

interface Definition {
  id: string;
  description: string;
  unit: Unit;
  /** The bound on each store; a store without one has no such target. */
  bound: Partial<Record<StoreName, number>>;
  /** At least (≥) or at most (≤). */
  at: 'least' | 'most';
  /** The figure and its note from this run's rows, or undefined when not in the run. */
  measure(rows: Row[]): { value: number; note?: string } | undefined;
  /** Why the target is never measured (yet): reported as met null. */
  notMeasured?: string;
}

const rowOf = (rows: Row[], scenario: string) => rows.find((r) => r.scenario === scenario);

/** The median of the per-round ratios against the in-memory peer, with their spread. */
function vsPeer(scenario: string) {
  return (rows: Row[]) => {
    const row = rowOf(rows, scenario);
    if (!row || row.ratio_vs_peer === null) return undefined;
    const rounds = Array.isArray(row.rounds) ? row.rounds.length : undefined;
    const spread =
      typeof row.ratio_min === 'number' && typeof row.ratio_max === 'number'
        ? `rounds ${row.ratio_min.toFixed(2)}–${row.ratio_max.toFixed(2)}×${rounds ? ` (${rounds})` : ''}`
        : undefined;
    return { value: row.ratio_vs_peer, ...(spread ? { note: spread } : {}) };
  };
}

const ratioTarget = (
  scenario: string,
  label: string,
  bound: Partial<Record<StoreName, number>>,
): Definition => ({
  id: `${scenario}-vs-peer`,
  description: `${label}: throughput × the in-memory peer (median of the rounds)`,
  unit: '×',
  bound,
  at: 'least',
  measure: vsPeer(scenario),
});

const BOTH = (value: number) => ({ sqlite: value, postgres: value });
/** The scenarios the durable peer is compared on: every one it has. */
const DURABLE_COMPARED = [
  'a',
  'b-rs256',
  'b-es256',
  'c-jwt',
  'c-opaque',
  'd',
  'e-rs256',
  'e-es256',
];

/**
 * Issue 11's targets, in the order the report lists them. Each store of the run gets each target
 * that has a bound for it; those whose rows are not in the run (--only, --no-peer, --no-growth,
 * or the quick run's smaller growth set) are listed as not measured.
 */
export const TARGETS: Definition[] = [
  ratioTarget('b-es256', 'b, ES256 ID tokens', { sqlite: 2, postgres: 1.5 }),
  ratioTarget('b-rs256', 'b, RS256 ID tokens', { sqlite: 1.3, postgres: 1.1 }),
  ratioTarget('e-es256', 'e, ES256 ID tokens', { sqlite: 1.5, postgres: 1.2 }),
  ratioTarget('e-rs256', 'e, RS256 ID tokens', { sqlite: 1.2, postgres: 1.0 }),
  ...DURABLE_COMPARED.map(
    (scenario): Definition => ({
      id: `${scenario}-vs-durable-peer`,
      description: `${scenario}: throughput × oidc-provider on a PostgreSQL adapter (median of the rounds)`,
      unit: '×',
      bound: BOTH(2),
      at: 'least',
      measure: (rows) => {
        const row = rowOf(rows, scenario);
        if (!row || typeof row.durable_ratio_vs_peer !== 'number') return undefined;
        const rounds = Array.isArray(row.durable_rounds) ? row.durable_rounds.length : undefined;
        const spread =
          typeof row.durable_ratio_min === 'number' && typeof row.durable_ratio_max === 'number'
            ? `rounds ${row.durable_ratio_min.toFixed(2)}–${row.durable_ratio_max.toFixed(2)}×${rounds ? ` (${rounds})` : ''}`
            : undefined;
        return { value: row.durable_ratio_vs_peer, ...(spread ? { note: spread } : {}) };
      },
    }),
  ),
  ...(['b-es256', 'b-rs256'] as const).map(
    (scenario): Definition => ({
      id: `${scenario}-cpu-minus-signatures`,
      description: `${scenario}: the server's CPU per refresh minus its two signatures (ES256 access token, ${scenario.endsWith('es256') ? 'ES256' : 'RS256'} ID token) signed alone on the same core`,
      unit: 'µs',
      bound: { sqlite: 250 },
      at: 'most',
      measure: (rows) => {
        const row = rowOf(rows, scenario);
        if (typeof row?.cpu_minus_signatures_us !== 'number') return undefined;
        return {
          value: row.cpu_minus_signatures_us,
          note: `${row.cpu_us} µs − ${row.signatures_us} µs`,
        };
      },
    }),
  ),
  ratioTarget('a', 'a', BOTH(2)),
  // Issue 12: private_key_jwt against oidc-provider doing the same, and the JWT bearer grant
  // (no peer has it) within 20% of it: both verify one assertion and sign one token.
  ratioTarget('g-pkjwt', 'g, client_credentials with private_key_jwt', BOTH(1.5)),
  {
    id: 'g-bearer-vs-g-pkjwt',
    description:
      'g-bearer: the JWT bearer grant’s throughput as a share of private_key_jwt client_credentials’ (same run and store)',
    unit: '%',
    bound: BOTH(0.8),
    at: 'least',
    measure: (rows) => {
      const bearer = rowOf(rows, 'g-bearer');
      const keyed = rowOf(rows, 'g-pkjwt');
      if (!bearer || !keyed?.rps) return undefined;
      return {
        value: bearer.rps / keyed.rps,
        note: `${bearer.rps.toLocaleString('en-US')} vs ${keyed.rps.toLocaleString('en-US')}/s`,
      };
    },
  },
  // Issue 13: a cached metadata document costs nothing: its client's round trip within 10% of a
  // registered client's, in the same rounds on the same server.
  {
    id: 'h-document-vs-registered',
    description:
      'h-document: the code round trip of a metadata-document client as a share of a registered client’s (median of the alternated rounds)',
    unit: '%',
    bound: BOTH(0.9),
    at: 'least',
    measure: (rows) => {
      const measured = vsPeer('h-document')(rows);
      if (!measured) return undefined;
      const fetches = rowOf(rows, 'h-document')?.document_fetches;
      return {
        value: measured.value,
        note: `${measured.note ?? ''}; document fetched ${String(fetches)}×`,
      };
    },
  },
  ratioTarget('c-jwt', 'c-jwt (against the peer’s opaque introspection)', BOTH(2)),
  ratioTarget('c-opaque', 'c-opaque', BOTH(2)),
  ratioTarget('d', 'd', BOTH(2)),
  ...['a', 'c-jwt', 'c-opaque', 'd'].map(
    (scenario): Definition => ({
      id: `${scenario}@large-vs-empty`,
      description: `${scenario} on the large store: throughput as a share of the empty store's (token cache off)`,
      unit: '%',
      bound: BOTH(0.8),
      at: 'least',
      measure: (rows) => {
        const ratio = rowOf(rows, `${scenario}@large`)?.vs_empty;
        return typeof ratio === 'number' ? { value: ratio } : undefined;
      },
    }),
  ),
  {
    id: 'f-a-p99-ratio',
    description: "f: a's p99 during password sign-ins ÷ a's p99 alone",
    unit: '×',
    bound: BOTH(2),
    at: 'most',
    measure: (rows) => {
      const row = rowOf(rows, 'f');
      if (!row || typeof row.a_p99_ratio !== 'number') return undefined;
      return {
        value: row.a_p99_ratio,
        note: `${Number(row.a_p99_alone_ms).toFixed(2)} → ${Number(row.a_p99_during_ms).toFixed(2)} ms`,
      };
    },
  },
];

/** The scenario (row) a target is read from: its id without what follows. */
const scenarioOf = (id: string) => id.replace(/(-vs-.*|-cpu-minus-signatures)$/, '');

/** Why a row's figures cannot give a verdict, if they cannot. */
function doubtOf(row: Row | undefined): string | undefined {
  if (!row) return undefined;
  if (row.failures > 0) return `${row.failures} failed answers`;
  const dry = Number(row.pool_dry ?? 0) + Number(row.peer_pool_dry ?? 0);
  if (dry > 0) return `a refresh-token pool ran dry ${dry} times`;
  return undefined;
}

/** Every target on every store of the run, checked against its rows. */
export function checkTargets(rows: Row[], stores: StoreName[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const store of stores) {
    const mine = rows.filter((r) => r.store === store);
    for (const target of TARGETS) {
      const bound = target.bound[store];
      if (bound === undefined) continue;
      const goal = `${target.at === 'least' ? '≥' : '≤'} ${show(bound, target.unit)}`;
      const measured = target.notMeasured ? undefined : target.measure(mine);
      const base = { id: target.id, store, goal, description: target.description };
      if (!measured) {
        checks.push({
          ...base,
          value: null,
          met: null,
          note: target.notMeasured ?? 'not in this run',
        });
        continue;
      }
      const met = target.at === 'least' ? measured.value >= bound : measured.value <= bound;
      const compared = /-vs-(durable-)?peer$|-cpu-minus-signatures$/.test(target.id);
      const doubt = compared ? doubtOf(rowOf(mine, scenarioOf(target.id))) : undefined;
      checks.push({
        ...base,
        value: measured.value,
        // Failed answers or a dry token pool lower one side's throughput: the ratio is no verdict.
        met: doubt ? null : met,
        ...(doubt || measured.note
          ? { note: [doubt && `${doubt}: no verdict`, measured.note].filter(Boolean).join('; ') }
          : {}),
      });
    }
  }
  return checks;
}

function show(value: number, unit: Unit, digits = 1): string {
  if (unit === '%') return `${(value * 100).toFixed(digits === 1 ? 0 : digits)}%`;
  if (unit === 'µs') return `${value.toFixed(0)} µs`;
  return `${value.toFixed(digits)}×`;
}

/**
 * A measured value with one decimal, or two where one would read as the other side of the bound
 * (1.96× is not "2.0×, not met").
 */
function showValue(check: TargetCheck, unit: Unit): string {
  if (check.value === null) return '–';
  if (check.met === null) return show(check.value, unit);
  const scale = unit === '%' ? 100 : 1;
  const oneDecimal = Number((check.value * scale).toFixed(1)) / scale;
  const bound = Number(check.goal.replace(/[^0-9.]/g, '')) / (unit === '%' ? 100 : 1);
  const atLeast = check.goal.startsWith('≥');
  const readsMet = atLeast ? oneDecimal >= bound : oneDecimal <= bound;
  const digits = readsMet === check.met ? 1 : 2;
  if (unit === '%') return `${(check.value * 100).toFixed(digits)}%`;
  // CPU times are whole microseconds.
  if (unit === 'µs') return `${check.value.toFixed(digits - 1)} µs`;
  return `${check.value.toFixed(digits)}×`;
}

export function targetsTable(checks: TargetCheck[]): string {
  const units = new Map(TARGETS.map((t) => [t.id, t.unit]));
  const lines = [
    '| target | store | goal | this run | met | |',
    '| --- | --- | --- | ---: | --- | --- |',
  ];
  for (const c of checks) {
    const verdict =
      c.met === null
        ? c.value === null
          ? 'not measured'
          : 'no verdict'
        : c.met
          ? 'yes'
          : '**no**';
    lines.push(
      `| \`${c.id}\`: ${c.description} | ${c.store} | ${c.goal} | ${showValue(c, units.get(c.id) ?? '×')} | ${verdict} | ${c.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}
