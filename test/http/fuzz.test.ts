import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../../src/domain/sessions.js';
import { sha256 } from '../../src/lib/hash.js';
import { randomToken } from '../../src/lib/random.js';
import { testApp } from '../helpers/app.js';
import {
  build,
  discoverRoutes,
  type Generated,
  type Learned,
  type Route,
  recordReads,
  requestFor,
  type World,
} from '../helpers/fuzz.js';
import { makeClient, makeUser } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

/*
 * Property-based fuzzing of every route, on each store: whatever the query,
 * path, body and headers, the answer is never a 5xx and never shows a stack
 * trace or an internal error. The routes are read from the built app, so a
 * route added later is fuzzed without touching this file.
 *
 * Each route is fuzzed in two phases. Learning: sane requests (real client,
 * person, session, CSRF token, admin key), recording which parameter names
 * the route reads, until it reads nothing new; each answer is checked too.
 * Fuzzing: requests built mostly from those names, with sane and hostile
 * values (NUL and other controls slipped into real values, lone surrogates,
 * 1e308, very long text, arrays, nested and deep JSON, repeated and random
 * names, broken bodies and credentials).
 *
 * FUZZ_RUNS sets the fuzzing runs per route (default 25) and FUZZ_SEED the
 * seed (fixed by default, so a failure is reproducible); a failure prints both.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
/** Learning stops after this many requests that taught nothing new, or at the cap. */
const LEARN_QUIET = 8;
const LEARN_MAX = 40;
/**
 * Hostile values among ten while fuzzing, drawn per request: one hostile value
 * among sane ones reaches deep into a route, many test its first checks.
 */
const HOSTILE_SHARES = [1, 2, 5];

/** A stack trace, a source path or an internal error code in a body. */
const LEAK = /\n\s+at \S|node_modules|\/src\/|\bERR_[A-Z_]{4,}|SqliteError|"stack"/;
/** Names read by the runtime rather than by Tessera (JSON.stringify, await, inspection). */
const NOT_A_PARAMETER = new Set(['toJSON', 'then', 'constructor', 'valueOf', 'toString']);

/** Routes that are off by default are on here, so that they are fuzzed too. */
const ENV = { TESSERA_REGISTRATION: 'open' };

const discovered = discoverRoutes(await testApp({ env: ENV }));

/** A seed per route, from the run's seed, so that routes do not all walk the same values. */
function routeSeed(route: Route): number {
  let h = SEED | 0;
  for (const c of `${route.method} ${route.url}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

describe('route discovery', () => {
  it('finds the routes of the built app, path parameters included', () => {
    const seen = discovered.map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'POST /token',
      'GET /authorize',
      'POST /login',
      'GET /admin/api/users/:id',
      'POST /account/sessions/end-all',
      'GET /healthz',
    ]) {
      expect(seen).toContain(expected);
    }
  });
});

for (const factory of storeFactories()) {
  describe(`fuzzing every route (${factory.name}): never a 5xx, never a stack trace`, () => {
    let app: FastifyInstance;
    let ts: TestStore;
    let world: World;
    let reads: { take(): Learned };
    const password = 'correct horse battery staple';

    async function newPerson(): Promise<{ id: string; username: string }> {
      const { user } = await makeUser(app.tessera, { password });
      return { id: user.id, username: user.username };
    }

    async function newAdminSession(): Promise<string> {
      const { user } = await makeUser(app.tessera, { password });
      await app.tessera.store.users.update(user.id, { role: 'admin' }, user.createdAt);
      return (await startSession(app.tessera, { userId: user.id, amr: ['pwd'] })).secret;
    }

    async function newSession(userId: string): Promise<World['userSession']> {
      const { session, secret } = await startSession(app.tessera, { userId, amr: ['pwd'] });
      return { id: session.id, secret };
    }

    /** The world again, with whatever the last request deleted, ended or demoted made anew. */
    async function refresh(): Promise<World> {
      const ctx = app.tessera;
      const { clients, users, sessions } = ctx.store;
      const now = Math.floor(ctx.clock.now() / 1000);
      if (!(await clients.findById(world.client.client.id))) world.client = await makeClient(ctx);
      if (!(await clients.findById(world.publicClient.client.id)))
        world.publicClient = await makeClient(ctx, { type: 'public' });
      if (!(await users.findById(world.userId))) {
        const person = await newPerson();
        world.userId = person.id;
        world.username = person.username;
      }
      if (!(await sessions.findActiveBySecret(sha256(world.userSession.secret), now)))
        world.userSession = await newSession(world.userId);
      const admin = await sessions.findActiveBySecret(sha256(world.adminSession), now);
      if (!admin || (await users.findById(admin.userId))?.role !== 'admin')
        world.adminSession = await newAdminSession();
      return world;
    }

    async function send(route: Route, generated: Generated): Promise<void> {
      const options = build(route, generated, await refresh());
      const res = await app.inject(options);
      const shown = `${options.method} ${String(options.url).slice(0, 300)} -> ${res.statusCode} ${res.body.slice(0, 500)}`;
      expect(res.statusCode, shown).toBeLessThan(500);
      expect(res.body, shown).not.toMatch(LEAK);
    }

    /** Sane requests until the route reads no new parameter name. */
    async function learn(route: Route): Promise<Learned> {
      const query = new Set<string>();
      const body = new Set<string>();
      reads.take();
      for (let i = 0, quiet = 0; i < LEARN_MAX && quiet < LEARN_QUIET; i++) {
        const learned = { query: [...query], body: [...body] };
        const [generated] = fc.sample(requestFor(route, learned, 0), {
          seed: routeSeed(route) + i,
          numRuns: 1,
        });
        await send(route, generated!);
        const before = query.size + body.size;
        const seen = reads.take();
        for (const n of seen.query) if (!NOT_A_PARAMETER.has(n)) query.add(n);
        for (const n of seen.body) if (!NOT_A_PARAMETER.has(n)) body.add(n);
        quiet = query.size + body.size > before ? 0 : quiet + 1;
      }
      return { query: [...query].sort(), body: [...body].sort() };
    }

    beforeAll(async () => {
      ts = await factory.open();
      app = await testApp({ store: ts.store, env: ENV });
      reads = recordReads(app);
      const person = await newPerson();
      world = {
        client: await makeClient(app.tessera),
        publicClient: await makeClient(app.tessera, { type: 'public' }),
        userId: person.id,
        username: person.username,
        password,
        userSession: await newSession(person.id),
        adminSession: await newAdminSession(),
        csrfSeed: randomToken(32),
      };
    });
    afterAll(async () => {
      await app.close();
      await ts.cleanup();
    });

    for (const route of discovered) {
      it(`${route.method} ${route.url}`, async () => {
        const learned = await learn(route);
        await fc
          .assert(
            fc.asyncProperty(
              fc.oneof(...HOSTILE_SHARES.map((share) => requestFor(route, learned, share))),
              (generated) => send(route, generated),
            ),
            { seed: routeSeed(route), numRuns: RUNS },
          )
          .catch((error: Error) => {
            error.message = `${error.message}\nnames learned: ${JSON.stringify(learned)}\nreproduce with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`;
            throw error;
          });
      });
    }
  });
}
