import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import {
  createTokenVerifier,
  type ResourceOptions,
  TokenError,
  type TokenVerifier,
} from '../../src/resource/index.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { makeClient, postAsClient, type TestClient } from '../helpers/oauth.js';
import { callApi, countingFetch, startApi } from '../helpers/resource.js';

/*
 * Opaque access tokens, checked by RFC 7662 introspection at a real Tessera with the resource
 * server's own credentials, and the short cache in front of it (requests counted at the fetch).
 */
describe('tessera/resource: opaque tokens by introspection', () => {
  let tessera: RunningServer;
  let ctx: AppContext;
  let app: TestClient;
  let api: TestClient;
  let options: ResourceOptions;
  const clock = new FrozenClock();

  beforeAll(async () => {
    tessera = await startServer({ clock });
    ctx = tessera.app.tessera;
    app = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: ['notes:read', 'notes:write'],
      accessTokenFormat: 'opaque',
    });
    // Until APIs are registered objects: a client marked resource_server introspects the
    // tokens of the default audience (the issuer).
    api = await makeClient(ctx, { grantTypes: ['client_credentials'], resourceServer: true });
    options = {
      issuer: tessera.url,
      resource: tessera.url,
      introspection: { clientId: api.client.id, clientSecret: api.secret! },
      now: () => clock.now(),
    };
  });
  afterAll(async () => tessera?.close());

  const token = async (scope = 'notes:read') => {
    const res = await postAsClient(tessera.url, '/token', app, {
      grant_type: 'client_credentials',
      scope,
    });
    expect(res.status, res.text).toBe(200);
    const t = String(res.body.access_token);
    expect(t.split('.')).toHaveLength(1);
    return t;
  };
  const counted = (extra: Partial<ResourceOptions> = {}) => {
    const counter = countingFetch('/introspect');
    const verifier = createTokenVerifier({ ...options, fetch: counter.fetch, ...extra });
    return { verifier, count: counter.count };
  };
  const refusal = async (v: TokenVerifier, t: string) => {
    const error = await v.verify(t).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenError);
    return error as TokenError;
  };
  const revoke = (t: string) =>
    postAsClient(tessera.url, '/revoke', app, { token: t, token_type_hint: 'access_token' });

  it('accepts an active opaque token, with what introspection says about it', async () => {
    const { verifier } = counted();
    const t = await token('notes:read notes:write');
    const info = await verifier.verify(t, ['notes:write']);
    expect(info).toMatchObject({
      token: t,
      clientId: app.client.id,
      scopes: ['notes:read', 'notes:write'],
      expiresAt: Math.floor(clock.now() / 1000) + 3600,
      extra: { sub: app.client.id, claims: { active: true, aud: tessera.url } },
    });
    expect(info.resource?.href).toBe(new URL(tessera.url).href);
    await expect(verifier.verify(t, ['notes:admin'])).rejects.toMatchObject({
      status: 403,
      error: 'insufficient_scope',
      scope: 'notes:admin',
    });
  });

  it('asks Tessera once per token within the cache window, once for concurrent requests too', async () => {
    const { verifier, count } = counted();
    const t = await token();
    await Promise.all([1, 2, 3, 4, 5].map(() => verifier.verify(t)));
    expect(count()).toBe(1);
    clock.advance(29);
    await verifier.verify(t);
    expect(count()).toBe(1);
    clock.advance(2);
    await verifier.verify(t);
    expect(count()).toBe(2);
  });

  it('refuses a revoked token once the cache has lapsed (at most introspectionCacheTtl late)', async () => {
    const { verifier, count } = counted({ introspectionCacheTtl: 10 });
    const t = await token();
    await verifier.verify(t);
    expect((await revoke(t)).status).toBe(200);
    // Still the cached answer: the price of not asking Tessera on every request.
    await verifier.verify(t);
    clock.advance(11);
    const e = await refusal(verifier, t);
    expect(e).toMatchObject({ status: 401, error: 'invalid_token' });
    expect(e.message).toMatch(/not active/);
    expect(count()).toBe(2);
  });

  it('with introspectionCacheTtl 0 asks every time, so a revocation counts at once', async () => {
    const { verifier, count } = counted({ introspectionCacheTtl: 0 });
    const t = await token();
    await verifier.verify(t);
    await verifier.verify(t);
    expect(count()).toBe(2);
    await revoke(t);
    await refusal(verifier, t);
  });

  it('never keeps an answer past the token’s exp', async () => {
    const { verifier, count } = counted();
    const t = await token();
    clock.advance(3600 - 10);
    await verifier.verify(t);
    clock.advance(11);
    await refusal(verifier, t);
    expect(count()).toBe(2);
    clock.advance(-(3600 + 1));
  });

  it('refuses a made-up token, and remembers that briefly too', async () => {
    const { verifier, count } = counted();
    const made = 'x'.repeat(43);
    await refusal(verifier, made);
    await refusal(verifier, made);
    expect(count()).toBe(1);
  });

  it('refuses a token whose introspected aud is not this resource', async () => {
    const { verifier } = counted();
    const other = createTokenVerifier({ ...options, resource: 'https://other.example.com/api' });
    const t = await token();
    await verifier.verify(t);
    const e = await refusal(other, t);
    expect(e.message).toBe('the access token is not meant for this resource (aud)');
  });

  it('refuses an opaque token when it has no introspection credentials', async () => {
    const { introspection: _, ...withoutCredentials } = options;
    const e = await refusal(createTokenVerifier(withoutCredentials), await token());
    expect(e.message).toMatch(/not a JWT/);
  });

  it('fails (not a client error) when its credentials are wrong, and asks again next time', async () => {
    const { verifier, count } = counted({
      introspection: { clientId: api.client.id, clientSecret: 'wrong' },
    });
    const t = await token();
    for (let i = 0; i < 2; i += 1) {
      const error = await verifier.verify(t).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(TokenError);
      expect(String(error)).toMatch(/HTTP 401/);
    }
    expect(count()).toBe(2);
  });

  it('lets an opaque token through the Fastify plugin and the Node middleware', async () => {
    for (const flavor of ['fastify', 'node'] as const) {
      const server = await startApi(flavor, options);
      try {
        const t = await token();
        const res = await callApi(server, '/read', { authorization: `Bearer ${t}` });
        expect(res.status, res.text).toBe(200);
        expect(res.body.auth).toMatchObject({ clientId: app.client.id, scopes: ['notes:read'] });
        const write = await callApi(server, '/write', { authorization: `Bearer ${t}` });
        expect(write.status).toBe(403);
      } finally {
        await server.close();
      }
    }
  });

  it('the Node middleware hands a failure to reach Tessera to next(error)', async () => {
    const server = await startApi('node', {
      ...options,
      introspection: { clientId: api.client.id, clientSecret: 'wrong' },
    });
    try {
      const res = await callApi(server, '/read', { authorization: `Bearer ${await token()}` });
      // The test API's next(error) answers 503: not a 401 that would blame the client's token.
      expect(res.status).toBe(503);
    } finally {
      await server.close();
    }
  });
});
