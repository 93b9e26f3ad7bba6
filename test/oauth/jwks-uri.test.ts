import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  assertionClaims,
  CLIENT_ASSERTION_TYPE,
  type KeyPair,
  keyPair,
  makeKeyedClient,
  signWith,
} from '../helpers/client-jwt.js';
import { postForm } from '../helpers/oauth.js';

/**
 * A client's keys at its jwks_uri (RFC 7591 §2), served by the test: fetched once and cached,
 * fetched again for an unknown kid at most once per cooldown, and a slow, oversized, failing or
 * private-key-bearing answer refused with a description naming the problem.
 */
describe('jwks_uri', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let keys: HttpServer;
  const clock = new FrozenClock();
  beforeAll(async () => {
    keys = await startKeyServer();
    server = await startServer({
      clock,
      env: { TESSERA_JWKS_URI_TIMEOUT_MS: '300', TESSERA_JWKS_URI_COOLDOWN_SECONDS: '30' },
    });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server.close();
    keys.server.close();
  });

  const now = () => Math.floor(clock.now() / 1000);

  async function clientAt(path: string, key: KeyPair) {
    return makeKeyedClient(ctx, { jwks: null, jwksUri: `${keys.url}${path}` }, key);
  }

  async function authenticate(clientId: string, key: KeyPair) {
    return postForm(server.url, '/token', {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await signWith(key, assertionClaims(clientId, server.url, now())),
    });
  }

  it('fetches the set once, then serves from its cache', async () => {
    const key = await keyPair();
    keys.routes.set('/cached', { body: JSON.stringify({ keys: [key.publicJwk] }) });
    const tc = await clientAt('/cached', key);
    for (let i = 0; i < 3; i++) {
      const res = await authenticate(tc.client.id, key);
      expect(res.status, res.text).toBe(200);
    }
    expect(keys.hits('/cached')).toBe(1);
  });

  it('an unknown kid fetches again, at most once per cooldown: a rotated key then works', async () => {
    const first = await keyPair();
    const rotated = await keyPair();
    keys.routes.set('/rotating', { body: JSON.stringify({ keys: [first.publicJwk] }) });
    const tc = await clientAt('/rotating', first);
    expect((await authenticate(tc.client.id, first)).status).toBe(200);
    expect(keys.hits('/rotating')).toBe(1);

    // The client rotates its key; within the cooldown, made-up or new kids fetch nothing.
    keys.routes.set('/rotating', { body: JSON.stringify({ keys: [rotated.publicJwk] }) });
    for (let i = 0; i < 5; i++) {
      const res = await authenticate(tc.client.id, rotated);
      expect(res.status).toBe(401);
      expect(res.body.error_description).toMatch(/names a key the client has not registered/);
    }
    expect(keys.hits('/rotating')).toBe(1);

    clock.advance(31);
    const res = await authenticate(tc.client.id, rotated);
    expect(res.status, res.text).toBe(200);
    expect(keys.hits('/rotating')).toBe(2);
    // The old key is gone from the set: refused (and no new fetch within the cooldown).
    expect((await authenticate(tc.client.id, first)).status).toBe(401);
    expect(keys.hits('/rotating')).toBe(2);
  });

  it('a jwks_uri that answers too slowly is refused after the timeout', async () => {
    const key = await keyPair();
    keys.routes.set('/slow', { body: JSON.stringify({ keys: [key.publicJwk] }), delayMs: 2000 });
    const tc = await clientAt('/slow', key);
    const started = Date.now();
    const res = await authenticate(tc.client.id, key);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/could not be fetched: no answer within 300 ms/);
  });

  it('an oversized answer is refused, declared or streamed', async () => {
    const key = await keyPair();
    const huge = JSON.stringify({ keys: [key.publicJwk], padding: 'x'.repeat(100_000) });
    keys.routes.set('/huge', { body: huge });
    keys.routes.set('/huge-chunked', { body: huge, chunked: true });
    for (const path of ['/huge', '/huge-chunked']) {
      const tc = await clientAt(path, key);
      const res = await authenticate(tc.client.id, key);
      expect(res.status, path).toBe(401);
      expect(res.body.error_description, path).toMatch(/larger than 16384 bytes/);
    }
  });

  it('refuses a set with private keys, an error status, or no JSON', async () => {
    const key = await keyPair();
    const { exportJWK } = await import('jose');
    const privateJwk = { ...(await exportJWK(key.privateKey)), kid: key.kid };
    keys.routes.set('/private', { body: JSON.stringify({ keys: [privateJwk] }) });
    keys.routes.set('/missing', { body: 'no', status: 404 });
    keys.routes.set('/html', { body: '<html>' });
    const cases: [string, RegExp][] = [
      ['/private', /holds private or secret key material \("d"\)/],
      ['/missing', /answered HTTP 404/],
      ['/html', /did not answer JSON/],
    ];
    for (const [path, description] of cases) {
      const tc = await clientAt(path, key);
      const res = await authenticate(tc.client.id, key);
      expect(res.status, path).toBe(401);
      expect(res.body.error_description, path).toMatch(description);
    }
  });
});

interface Route {
  body: string;
  status?: number;
  delayMs?: number;
  chunked?: boolean;
}

interface HttpServer {
  server: Server;
  url: string;
  routes: Map<string, Route>;
  hits(path: string): number;
}

/** A JWKS host on loopback whose answers each test sets. */
async function startKeyServer(): Promise<HttpServer> {
  const routes = new Map<string, Route>();
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const route = routes.get(path);
    if (!route) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const send = () => {
      res.statusCode = route.status ?? 200;
      res.setHeader('content-type', 'application/json');
      if (route.chunked) {
        for (let i = 0; i < route.body.length; i += 4096) res.write(route.body.slice(i, i + 4096));
        res.end();
      } else {
        res.end(route.body);
      }
    };
    if (route.delayMs) setTimeout(send, route.delayMs).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    hits: (path) => counts.get(path) ?? 0,
  };
}
