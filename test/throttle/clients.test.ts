import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { basicAuth, makeClient, type TestClient } from '../helpers/oauth.js';
import { expectRetryAfter, freshIp, frozenDate } from './helpers.js';

const LIMITS = {
  TESSERA_CLIENT_IP_MAX_FAILURES: '5',
  TESSERA_CLIENT_MAX_FAILURES: '8',
  TESSERA_CLIENT_FAILURE_WINDOW_SECONDS: '60',
  TESSERA_CLIENT_BLOCK_SECONDS: '300',
};
const time = frozenDate();

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a form to `path` from `ip`, as inject() lets a test be anyone. */
async function post(
  app: FastifyInstance,
  ip: string,
  path: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await app.inject({
    method: 'POST',
    url: path,
    remoteAddress: ip,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(form).toString(),
  });
  const answer = new Headers();
  for (const [name, value] of Object.entries(res.headers)) answer.set(name, String(value));
  return { status: res.statusCode, headers: answer, body: res.body ? res.json() : {} };
}

const cc = { grant_type: 'client_credentials' };

describe('limits on failed requests at /token, /introspect and /revoke', () => {
  let app: FastifyInstance;
  const ctx = () => app.tessera;
  beforeAll(async () => {
    app = await testApp({ env: LIMITS });
  });
  afterAll(async () => app.close());

  const service = () => makeClient(ctx(), { grantTypes: ['client_credentials'], scopes: [] });
  const token = (ip: string, tc: TestClient, secret = tc.secret!) =>
    post(app, ip, '/token', cc, { authorization: basicAuth(tc.client.id, secret) });

  it('refuses an address after its failures reach the limit with 429 and Retry-After, even with the right secret, everywhere the client proves itself, until the block ends', async () => {
    const tc = await service();
    const ip = freshIp();
    for (let i = 0; i < 5; i++) {
      const wrong = await token(ip, tc, 'wrong secret');
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    }
    const refused = await token(ip, tc);
    expect(expectRetryAfter(refused, 300)).toBe(300);
    expect(refused.body).toEqual({
      error: 'too_many_requests',
      error_description: expect.stringContaining('try again in 300 seconds'),
    });
    expect(refused.headers.get('cache-control')).toContain('no-store');
    const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
    expect((await post(app, ip, '/introspect', { token: 'x' }, auth)).status).toBe(429);
    expect((await post(app, ip, '/revoke', { token: 'x' }, auth)).status).toBe(429);

    // The client itself is not blocked: it works from its other addresses.
    expect((await token(freshIp(), tc)).status).toBe(200);
    time.pass(299);
    expect((await token(ip, tc)).status).toBe(429);
    time.pass(1);
    expect((await token(ip, tc)).status).toBe(200);
  });

  it('refuses wrong credentials of a client that failed too often from many addresses, never its right ones', async () => {
    const tc = await service();
    const other = await service();
    for (let i = 0; i < 8; i++) {
      expect((await token(freshIp(), tc, 'wrong secret')).status).toBe(401);
    }
    const ip = freshIp();
    expect(expectRetryAfter(await token(ip, tc, 'still wrong'), 300)).toBe(300);
    // By client_id in the body too.
    const inBody = await post(app, ip, '/token', {
      ...cc,
      client_id: tc.client.id,
      client_secret: 'wrong again',
    });
    expect(inBody.status).toBe(429);
    // Anyone may send a client's id: the client itself, proving its secret, is never shut out.
    expect((await token(ip, tc)).status).toBe(200);
    expect((await token(freshIp(), tc)).status).toBe(200);
    expect((await token(ip, other)).status).toBe(200);
    time.pass(300);
    expect((await token(ip, tc, 'wrong secret')).status).toBe(401);
  });

  it('counts and refuses at /token/ as at /token: a trailing slash is no way around the limit', async () => {
    const tc = await service();
    const ip = freshIp();
    const wrong = { authorization: basicAuth(tc.client.id, 'wrong secret') };
    for (let i = 0; i < 5; i++) {
      expect((await post(app, ip, '/token/', cc, wrong)).status).toBe(401);
    }
    const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
    expect((await post(app, ip, '/token/', cc, auth)).status).toBe(429);
    expect((await post(app, ip, '/introspect/', { token: 'x' }, auth)).status).toBe(429);
  });

  it('counts failures at /introspect and /revoke with those at /token', async () => {
    const tc = await service();
    const ip = freshIp();
    const wrong = { authorization: basicAuth(tc.client.id, 'wrong secret') };
    for (let i = 0; i < 3; i++) {
      expect((await post(app, ip, '/introspect', { token: 'x' }, wrong)).status).toBe(401);
    }
    for (let i = 0; i < 2; i++) {
      expect((await post(app, ip, '/revoke', { token: 'x' }, wrong)).status).toBe(401);
    }
    expect((await token(ip, tc)).status).toBe(429);
  });

  it("counts invalid_grant and another client's token against the address, but not against a public client, whose id anyone may send", async () => {
    const spa = await makeClient(ctx(), { type: 'public' });
    const badRefresh = (ip: string) =>
      post(app, ip, '/token', {
        grant_type: 'refresh_token',
        refresh_token: 'not-a-token',
        client_id: spa.client.id,
      });
    // Ten bad refresh tokens for one client, from five addresses: under each address's limit.
    for (let i = 0; i < 10; i++) {
      expect((await badRefresh(`203.0.113.${10 + (i % 5)}`)).body.error).toBe('invalid_grant');
    }
    expect((await badRefresh(freshIp())).status).toBe(400);

    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await badRefresh(ip)).status).toBe(400);
    expect((await badRefresh(ip)).status).toBe(429);

    // The public client is refused from that address only.
    expect((await badRefresh(freshIp())).status).toBe(400);
  });

  it('never counts bad codes or tokens of a confidential client that proved its secret', async () => {
    // An app server presenting stale refresh tokens, or probing another client's token, guesses
    // nothing: it must not be shut out.
    const tc = await makeClient(ctx(), { grantTypes: ['refresh_token', 'client_credentials'] });
    const other = await service();
    const issued = (await token(freshIp(), other)).body.access_token as string;
    const ip = freshIp();
    const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
    for (let i = 0; i < 12; i++) {
      const stale = await post(
        app,
        ip,
        '/token',
        { grant_type: 'refresh_token', refresh_token: `stale-${i}` },
        auth,
      );
      expect(stale.body.error).toBe('invalid_grant');
      const foreign = await post(app, ip, '/revoke', { token: issued }, auth);
      expect(foreign.body.error).toBe('unauthorized_client');
    }
    expect((await post(app, ip, '/token', cc, auth)).status).toBe(200);
  });

  it('never counts successful requests: hundreds from one address and client go through', async () => {
    const tc = await service();
    const ip = freshIp();
    const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
    for (let i = 0; i < 100; i++) {
      const issued = await token(ip, tc);
      expect(issued.status).toBe(200);
      const jwt = issued.body.access_token as string;
      expect((await post(app, ip, '/introspect', { token: jwt }, auth)).body.active).toBe(true);
      expect((await post(app, ip, '/revoke', { token: jwt }, auth)).status).toBe(200);
    }
    // Unknown tokens are not failures either: /introspect says inactive, /revoke says 200.
    for (let i = 0; i < 20; i++) {
      expect((await post(app, ip, '/introspect', { token: `nothing${i}` }, auth)).status).toBe(200);
      expect((await post(app, ip, '/revoke', { token: `nothing${i}` }, auth)).status).toBe(200);
    }
    expect((await token(ip, tc)).status).toBe(200);
  });

  it('believes no X-Forwarded-For unless TESSERA_TRUST_PROXY says so: a guesser cannot take a new address per request', async () => {
    const tc = await service();
    const ip = freshIp();
    for (let i = 0; i < 5; i++) {
      const forged = {
        authorization: basicAuth(tc.client.id, 'wrong'),
        'x-forwarded-for': `192.0.2.${i}`,
      };
      expect((await post(app, ip, '/token', cc, forged)).status).toBe(401);
    }
    expect((await token(ip, tc)).status).toBe(429);
  });
});

describe('TESSERA_TRUST_PROXY', () => {
  it('counts by the forwarded address when the proxy is trusted, and by the proxy when it is not', async () => {
    const app = await testApp({ env: { ...LIMITS, TESSERA_TRUST_PROXY: '10.0.0.5' } });
    try {
      const tc = await makeClient(app.tessera, { grantTypes: ['client_credentials'], scopes: [] });
      const from = (proxy: string, client: string, secret = tc.secret!) =>
        post(app, proxy, '/token', cc, {
          authorization: basicAuth(tc.client.id, secret),
          'x-forwarded-for': client,
        });
      for (let i = 0; i < 5; i++) await from('10.0.0.5', '198.51.100.77', 'wrong');
      expect((await from('10.0.0.5', '198.51.100.77')).status).toBe(429);
      expect((await from('10.0.0.5', '198.51.100.78')).status).toBe(200);
      // An address that is not the proxy is itself the client, whatever it forwards (another
      // client here, so that the first one's count does not get in the way).
      const second = await makeClient(app.tessera, {
        grantTypes: ['client_credentials'],
        scopes: [],
      });
      const direct = (client: string, secret = second.secret!) =>
        post(app, '10.0.0.6', '/token', cc, {
          authorization: basicAuth(second.client.id, secret),
          'x-forwarded-for': client,
        });
      for (let i = 0; i < 5; i++) await direct(`198.51.100.${i}`, 'wrong');
      expect((await direct('198.51.100.79')).status).toBe(429);
    } finally {
      await app.close();
    }
  });
});
