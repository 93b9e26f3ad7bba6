import { parseArgs } from 'node:util';
import { JWS_ALGS, type JwsAlg } from '../lib/jws.js';
import type { SigningKey } from '../store/types.js';
import { withContext } from './context.js';
import { CommandError, loadConfig, output } from './runtime.js';

/**
 * `tessera keys rotate [--alg ES256]`: promotes each algorithm's published
 * standby key to current and publishes a new standby. Running servers pick it up
 * within seconds (at once with Redis); tokens signed before keep verifying.
 */
export async function keysRotate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { alg: { type: 'string', multiple: true }, json: { type: 'boolean', default: false } },
  });
  const algs = (values.alg ?? [...JWS_ALGS]) as JwsAlg[];
  for (const alg of algs) {
    if (!JWS_ALGS.includes(alg))
      throw new CommandError(`--alg must be one of ${JWS_ALGS.join(', ')}`, 'usage');
  }
  const kids = await withContext(loadConfig(), (ctx) => ctx.keys.rotate(algs));
  output(values.json).result(
    { rotated: algs.map((alg, i) => ({ alg, kid: kids[i] })) },
    algs.map((alg, i) => `${alg}: now signing with ${kids[i]}`),
  );
}

/** `tessera keys list`: the published keys and their state. */
export async function keysList(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
  });
  const now = Math.floor(Date.now() / 1000);
  const state = (k: SigningKey) =>
    k.retiredAt !== null ? 'retired' : k.activatesAt > now ? 'standby' : 'current';
  const order = ['current', 'standby', 'retired'];
  const rows = (await withContext(loadConfig(), (ctx) => ctx.store.keys.list())).sort(
    (a, b) => a.alg.localeCompare(b.alg) || order.indexOf(state(a)) - order.indexOf(state(b)),
  );
  output(values.json).result(
    {
      keys: rows.map((k) => ({ kid: k.kid, alg: k.alg, state: state(k), expires_at: k.expiresAt })),
    },
    rows.map((k) => `${k.alg.padEnd(6)} ${state(k).padEnd(8)} ${k.kid}`),
  );
}
