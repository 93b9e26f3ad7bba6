/**
 * pg against postgres.js (porsager), for the client's CPU per query: raw
 * driver calls and the same through Kysely. Each measurement runs in its own
 * child process, pinned to one core when `taskset` exists, so that one
 * driver's garbage and JIT state do not land on the other's bill; the drivers
 * alternate and each case is repeated, and the medians are reported.
 *
 *   npx tsx bench/drivers.ts [--url postgres://…] [--reps 5] [--queries 4000]
 *                            [--concurrency 10] [--only sel,tsel,ins,ksel,kins,psel]
 *
 * Cases: sel = primary-key SELECT of one tokens-like row (postgres.js:
 * sql.unsafe, the call Kysely's dialect makes); tsel = the same SELECT as a
 * postgres.js tagged template, its own fast path (pg: as sel); ins = one-row
 * INSERT; ksel/kins = the same built and compiled by Kysely on every call;
 * psel = the SELECT compiled once by Kysely (as Tessera's precompiled.ts
 * does) and run through its executor. pg names every statement (as
 * src/store/kysely/postgres.ts does); postgres.js prepares by default.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import pg from 'pg';
import postgres from 'postgres';
import { openPostgres } from '../src/store/kysely/postgres.js';

const DRIVERS = ['pg', 'postgres'] as const;
const CASES = ['sel', 'tsel', 'ins', 'ksel', 'kins', 'psel'] as const;
type Driver = (typeof DRIVERS)[number];
type Case = (typeof CASES)[number];

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    reps: { type: 'string', default: '5' },
    queries: { type: 'string', default: '4000' },
    warmup: { type: 'string', default: '1500' },
    concurrency: { type: 'string', default: '10' },
    only: { type: 'string' },
    child: { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const ROWS = 1_000;
const COLUMNS = [
  'id',
  'kind',
  'client_id',
  'user_id',
  'grant_id',
  'family_id',
  'scope',
  'auth_time',
  'claims',
  'created_at',
  'expires_at',
  'revoked_at',
] as const;

interface BenchTable {
  id: string;
  kind: string;
  client_id: string;
  user_id: string | null;
  grant_id: string | null;
  family_id: string | null;
  scope: string;
  auth_time: number | null;
  claims: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}
interface BenchDb {
  bench_tokens: BenchTable;
}

const row = (id: string): BenchTable => ({
  id,
  kind: 'refresh_token',
  client_id: 'client-0123456789abcdef',
  user_id: 'user-0123456789abcdef0123',
  grant_id: 'grant-0123456789abcdef012',
  family_id: 'family-0123456789abcdef01',
  scope: 'openid profile email offline_access',
  auth_time: 1_780_000_000,
  claims: JSON.stringify({ email: true, name: 'Ada Lovelace', acr: 'urn:x:1' }),
  created_at: 1_780_000_000,
  expires_at: 1_790_000_000,
  revoked_at: null,
});

const SELECT = 'select * from bench_tokens where id = $1';
const INSERT = `insert into bench_tokens (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

interface Sample {
  driver: Driver;
  case: Case;
  queries: number;
  cpuUsPerQuery: number;
  qps: number;
}

/** Runs `one(i)` `total` times with `concurrency` in flight. */
async function drive(total: number, concurrency: number, one: (i: number) => Promise<unknown>) {
  let next = 0;
  const lane = async () => {
    while (next < total) await one(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

async function child(driver: Driver, which: Case, schema: string): Promise<Sample> {
  const url = opts.url;
  const concurrency = Number(opts.concurrency);
  const queries = Number(opts.queries);
  const warmup = Number(opts.warmup);
  const tag = `${driver}-${which}-${process.pid}-`;
  const pick = (i: number) => `t${(i * 7919) % ROWS}`;
  const fresh = (i: number) => `${tag}${i}`;
  let close: () => Promise<void>;
  let one: (i: number) => Promise<unknown>;

  if (driver === 'pg') {
    if (which === 'sel' || which === 'tsel' || which === 'ins') {
      const pool = new pg.Pool({
        connectionString: url,
        max: concurrency,
        options: `-c search_path=${schema}`,
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            oid === 20
              ? Number
              : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
        },
      });
      close = () => pool.end();
      one =
        which !== 'ins'
          ? (i) => pool.query({ name: 'bench_sel', text: SELECT, values: [pick(i)] })
          : (i) =>
              pool.query({
                name: 'bench_ins',
                text: INSERT,
                values: COLUMNS.map((c) => row(fresh(i))[c]),
              });
    } else {
      // Tessera's own pool adapter: statement names, error mapping and all.
      const db = new Kysely<BenchDb>({
        dialect: new PostgresDialect({ pool: await openPostgres(url, schema) }),
      });
      close = () => db.destroy();
      one = kyselyCase(db, which, pick, fresh);
    }
  } else {
    const sql = postgres(url, {
      max: concurrency,
      prepare: true,
      connection: { search_path: schema },
      onnotice: () => {},
      types: {
        int8: {
          to: 20,
          from: [20],
          serialize: (x: number) => String(x),
          parse: (x: string) => Number(x),
        },
      },
    });
    if (which === 'sel' || which === 'tsel' || which === 'ins') {
      close = () => sql.end();
      one =
        which === 'sel'
          ? (i) => sql.unsafe(SELECT, [pick(i)], { prepare: true })
          : which === 'tsel'
            ? (i) => sql`select * from bench_tokens where id = ${pick(i)}`
            : (i) => {
                const r = row(fresh(i));
                return sql.unsafe(INSERT, COLUMNS.map((c) => r[c]) as never[], { prepare: true });
              };
    } else {
      const db = new Kysely<BenchDb>({ dialect: new PostgresJSDialect({ postgres: sql }) });
      close = () => db.destroy();
      one = kyselyCase(db, which, pick, fresh);
    }
  }

  await drive(warmup, concurrency, (i) => one(i + queries));
  const check = await one(warmup + queries);
  if (which.endsWith('sel') && !hasRow(check)) throw new Error(`${driver}/${which}: no row`);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await drive(queries, concurrency, one);
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  await close();
  return {
    driver,
    case: which,
    queries,
    cpuUsPerQuery: (cpu.user + cpu.system) / queries,
    qps: queries / (ns / 1e9),
  };
}

function hasRow(result: unknown): boolean {
  if (Array.isArray(result)) return result.length === 1; // postgres.js
  const r = result as { rows?: unknown[] } | undefined;
  if (r?.rows) return r.rows.length === 1; // pg, Kysely's executeQuery
  return result !== undefined; // Kysely's executeTakeFirst
}

function kyselyCase(
  db: Kysely<BenchDb>,
  which: Case,
  pick: (i: number) => string,
  fresh: (i: number) => string,
): (i: number) => Promise<unknown> {
  if (which === 'ksel') {
    return (i) =>
      db.selectFrom('bench_tokens').selectAll().where('id', '=', pick(i)).executeTakeFirst();
  }
  if (which === 'kins') {
    return (i) =>
      db
        .insertInto('bench_tokens')
        .values(row(fresh(i)))
        .execute();
  }
  // Compiled once; each run swaps in the parameter, as src/store/kysely/precompiled.ts does.
  const compiled = db.selectFrom('bench_tokens').selectAll().where('id', '=', 'x').compile();
  return (i) => db.executeQuery({ ...compiled, parameters: [pick(i)] });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main() {
  if (opts.child) {
    const [driver, which] = opts.child.split(':') as [Driver, Case];
    const sample = await child(driver, which, opts.schema as string);
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    return;
  }
  const cases = (opts.only?.split(',') ?? [...CASES]) as Case[];
  const reps = Number(opts.reps);
  const schema = `bench_drivers_${process.pid}`;
  const admin = new pg.Client({ connectionString: opts.url });
  await admin.connect();
  const pin = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');
  try {
    await admin.query(`create schema ${schema}`);
    await admin.query(`create table ${schema}.bench_tokens (
      id text primary key, kind text not null, client_id text not null, user_id text,
      grant_id text, family_id text, scope text not null, auth_time bigint, claims text,
      created_at bigint not null, expires_at bigint not null, revoked_at bigint)`);
    await admin.query(
      `insert into ${schema}.bench_tokens select 't' || g, 'refresh_token', 'client-0123456789abcdef',
         'user-0123456789abcdef0123', 'grant-0123456789abcdef012', 'family-0123456789abcdef01',
         'openid profile email offline_access', 1780000000, $1, 1780000000, 1790000000, null
       from generate_series(0, ${ROWS - 1}) g`,
      [row('x').claims],
    );
    const samples: Sample[] = [];
    const script = fileURLToPath(import.meta.url);
    for (const which of cases) {
      for (let rep = 0; rep < reps; rep++) {
        // Alternate which driver goes first, so that neither always follows the other.
        const order = rep % 2 ? [...DRIVERS].reverse() : DRIVERS;
        for (const driver of order) {
          const argv = [
            ...process.execArgv,
            script,
            `--child=${driver}:${which}`,
            `--schema=${schema}`,
            `--url=${opts.url}`,
            `--queries=${opts.queries}`,
            `--warmup=${opts.warmup}`,
            `--concurrency=${opts.concurrency}`,
          ];
          const run = pin
            ? spawnSync('taskset', ['-c', '0', process.execPath, ...argv], { encoding: 'utf8' })
            : spawnSync(process.execPath, argv, { encoding: 'utf8' });
          if (run.status !== 0) throw new Error(`${driver}/${which} failed:\n${run.stderr}`);
          const sample = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as Sample;
          samples.push(sample);
          if (!opts.json) {
            process.stderr.write(
              `${which} ${driver}: ${sample.cpuUsPerQuery.toFixed(1)} µs CPU/query, ${sample.qps.toFixed(0)} q/s\n`,
            );
          }
        }
      }
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(samples)}\n`);
      return;
    }
    console.log(
      `\n${reps} runs each of ${opts.queries} queries, ${opts.concurrency} in flight${pin ? ', client pinned to CPU 0' : ''}; median [min–max]\n`,
    );
    console.log('| case | driver | µs CPU / query | queries/s | CPU vs pg |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const which of cases) {
      const base = median(
        samples.filter((s) => s.case === which && s.driver === 'pg').map((s) => s.cpuUsPerQuery),
      );
      for (const driver of DRIVERS) {
        const mine = samples.filter((s) => s.case === which && s.driver === driver);
        const cpu = mine.map((s) => s.cpuUsPerQuery);
        const qps = mine.map((s) => s.qps);
        const range = (xs: number[], digits: number) =>
          `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
        console.log(
          `| ${which} | ${driver} | ${range(cpu, 1)} | ${range(qps, 0)} | ${((median(cpu) / base - 1) * 100).toFixed(0)}% |`,
        );
      }
    }
  } finally {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

await main();
