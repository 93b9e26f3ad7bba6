import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Stands in for a parameter while the query is compiled; never a value anyone stores. */
const MARK = '\u0000tessera:param:';

/** `param(name)`: the value of `values[name]` at each run. */
export type Param = <T>(name: string) => T;

/**
 * A query that Kysely builds and compiles once, then runs with new values:
 * building and compiling a query cost more than running it for the indexed
 * lookups and writes of the token endpoint. `build` receives `param(name)`,
 * which stands for the value of `values[name]` at each run; a run inside a
 * transaction passes the transaction as `executor`.
 *
 *   const find = precompiled(db, (param) =>
 *     db.selectFrom('tokens').selectAll().where('id', '=', param('id')));
 *   const { rows } = await find({ id });
 */
export function precompiled<R>(
  db: Kysely<Database>,
  build: (param: Param) => Compilable<R>,
): (values: Record<string, unknown>, executor?: Kysely<Database>) => Promise<QueryResult<R>> {
  const wanted = new Set<string>();
  const compiled: CompiledQuery<R> = build(<T>(name: string) => {
    wanted.add(name);
    return `${MARK}${name}` as T;
  }).compile();
  const slots = compiled.parameters.map((value) =>
    typeof value === 'string' && value.startsWith(MARK) ? value.slice(MARK.length) : undefined,
  );
  for (const name of wanted) {
    if (!slots.includes(name)) throw new Error(`precompiled: ${name} did not become a parameter`);
  }
  return async (values, executor = db) =>
    executor.executeQuery<R>({
      ...compiled,
      parameters: slots.map((name, i) => {
        if (name === undefined) return compiled.parameters[i];
        const value = values[name];
        if (value === undefined) throw new Error(`precompiled: no value for ${name}`);
        return value;
      }),
    });
}
