import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  basicAuth,
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  obtainTokens,
  postAsClient,
  postForm,
  postJson,
  postRaw,
  refresh,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';

describe('/revoke (RFC 7009)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  /** A resource server: a confidential client that may introspect other clients' access tokens. */
  let resourceServer: TestClient;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
    resourceServer = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: [],
      resourceServer: true,
    });
  });
  afterAll(async () => server.close());

  async function issued(overrides = {}) {
    const tc = await makeClient(ctx, overrides);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    return { tc, user, tokens };
  }

  const revoke = (tc: TestClient, form: Record<string, string | undefined>) =>
    postAsClient(server.url, '/revoke', tc, form);

  const isActive = async (tc: TestClient, token: string) => {
    const res = await introspect(server.url, tc, token);
    // A refusal to introspect at all must not pass for "inactive".
    expect(res.status, res.text).toBe(200);
    return res.body.active === true;
  };

  it('Basic: revokes an access token, which then fails at /userinfo and /introspect', async () => {
    const { tc, tokens } = await issued();
    const res = await postForm(
      server.url,
      '/revoke',
      { token: tokens.access_token },
      { authorization: basicAuth(tc.client.id, tc.secret!) },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await isActive(tc, tokens.access_token)).toBe(false);
    expect((await userinfo(server.url, tokens.access_token)).status).toBe(401);
  });

  it('client_secret_post: revokes a refresh token and the access tokens issued from it (seed 001)', async () => {
    const { tc, tokens } = await issued({ tokenEndpointAuthMethod: 'client_secret_post' });
    const refreshed = await refresh(server.url, tc, tokens.refresh_token!);
    const newRefresh = String(refreshed.body.refresh_token);
    const newAccess = String(refreshed.body.access_token);
    const res = await postForm(server.url, '/revoke', {
      token: newRefresh,
      client_id: tc.client.id,
      client_secret: tc.secret,
    });
    expect(res.status, res.text).toBe(200);
    expectOAuthError(await refresh(server.url, tc, newRefresh), 400, 'invalid_grant');
    expect(await isActive(tc, newAccess)).toBe(false);
    expect(await isActive(tc, tokens.access_token)).toBe(false);
    expect((await userinfo(server.url, newAccess)).status).toBe(401);
  });

  it('none: a public client revokes its own refresh token with its client_id', async () => {
    const { tc, tokens } = await issued({ type: 'public' });
    const res = await postForm(server.url, '/revoke', {
      token: tokens.refresh_token,
      client_id: tc.client.id,
    });
    expect(res.status, res.text).toBe(200);
    expectOAuthError(await refresh(server.url, tc, tokens.refresh_token!), 400, 'invalid_grant');
    expect(await isActive(resourceServer, tokens.access_token)).toBe(false);
  });

  it('revoking an access token leaves the other tokens of the person alone', async () => {
    const { tc, user, tokens } = await issued();
    const second = await obtainTokens(server.url, ctx, tc, user);
    expect((await revoke(tc, { token: tokens.access_token })).status).toBe(200);
    expect(await isActive(tc, second.access_token)).toBe(true);
    expect(await isActive(tc, second.refresh_token!)).toBe(true);
  });

  it('honours token_type_hint', async () => {
    const { tc, tokens } = await issued();
    const a = await revoke(tc, { token: tokens.access_token, token_type_hint: 'access_token' });
    expect(a.status, a.text).toBe(200);
    expect(await isActive(tc, tokens.access_token)).toBe(false);
    const other = await issued();
    const r = await revoke(other.tc, {
      token: other.tokens.refresh_token,
      token_type_hint: 'refresh_token',
    });
    expect(r.status, r.text).toBe(200);
    expect(await isActive(other.tc, other.tokens.refresh_token!)).toBe(false);
  });

  it('a wrong token_type_hint still revokes the token', async () => {
    const { tc, tokens } = await issued();
    const a = await revoke(tc, { token: tokens.access_token, token_type_hint: 'refresh_token' });
    expect(a.status, a.text).toBe(200);
    expect(await isActive(tc, tokens.access_token)).toBe(false);
    const other = await issued({ accessTokenFormat: 'opaque' });
    const r = await revoke(other.tc, {
      token: other.tokens.refresh_token,
      token_type_hint: 'access_token',
    });
    expect(r.status, r.text).toBe(200);
    expect(await isActive(other.tc, other.tokens.refresh_token!)).toBe(false);
    expect(await isActive(other.tc, other.tokens.access_token)).toBe(false);
  });

  it('an unknown token_type_hint value is ignored: the token is revoked (RFC 7009 §2.1)', async () => {
    const { tc, tokens } = await issued();
    const res = await revoke(tc, { token: tokens.access_token, token_type_hint: 'id_token' });
    expect(res.status, res.text).toBe(200);
    expect(await isActive(tc, tokens.access_token)).toBe(false);
  });

  it('a token_type_hint sent twice is invalid_request', async () => {
    const { tc, tokens } = await issued();
    const res = await postRaw(
      server.url,
      '/revoke',
      `token=${tokens.access_token}&token_type_hint=access_token&token_type_hint=access_token`,
      'application/x-www-form-urlencoded',
      { authorization: basicAuth(tc.client.id, tc.secret!) },
    );
    expectOAuthError(res, 400, 'invalid_request');
    expect(await isActive(tc, tokens.access_token)).toBe(true);
  });

  it('an unknown token answers 200', async () => {
    const tc = await makeClient(ctx);
    for (const token of ['no-such-token', 'a.b.c', 'x'.repeat(1000)]) {
      const res = await revoke(tc, { token });
      expect(res.status, res.text).toBe(200);
    }
  });

  it('an already revoked token answers 200', async () => {
    const { tc, tokens } = await issued();
    expect((await revoke(tc, { token: tokens.refresh_token })).status).toBe(200);
    expect((await revoke(tc, { token: tokens.refresh_token })).status).toBe(200);
    expect((await revoke(tc, { token: tokens.access_token })).status).toBe(200);
  });

  it('an expired access token answers 200', async () => {
    const { tc, tokens } = await issued();
    clock.advance(3600);
    expect((await revoke(tc, { token: tokens.access_token })).status).toBe(200);
  });

  it('a token of another client is not revoked: 400 unauthorized_client', async () => {
    const owner = await issued();
    const other = await makeClient(ctx);
    for (const token of [owner.tokens.access_token, owner.tokens.refresh_token!]) {
      const res = await revoke(other, { token });
      expectOAuthError(res, 400, 'unauthorized_client');
      expect(await isActive(owner.tc, token)).toBe(true);
    }
    const opaque = await issued({ accessTokenFormat: 'opaque' });
    expectOAuthError(
      await revoke(other, { token: opaque.tokens.access_token }),
      400,
      'unauthorized_client',
    );
    expect(await isActive(opaque.tc, opaque.tokens.access_token)).toBe(true);
  });

  it('a public client cannot revoke the token of another client', async () => {
    const owner = await issued();
    const publicClient = await makeClient(ctx, { type: 'public' });
    const res = await revoke(publicClient, { token: owner.tokens.refresh_token });
    expectOAuthError(res, 400, 'unauthorized_client');
    expect(await isActive(owner.tc, owner.tokens.refresh_token!)).toBe(true);
  });

  it('accepts only the client authentication method the client registered, and revokes nothing otherwise', async () => {
    const { tc, tokens } = await issued();
    const inBody = await postForm(server.url, '/revoke', {
      token: tokens.refresh_token!,
      client_id: tc.client.id,
      client_secret: tc.secret!,
    });
    expectOAuthError(inBody, 401, 'invalid_client');
    expect(await isActive(tc, tokens.refresh_token!)).toBe(true);
  });

  it('accepts the JSON body of seed 001', async () => {
    const { tc, tokens } = await issued({ tokenEndpointAuthMethod: 'client_secret_post' });
    const res = await postJson(server.url, '/revoke', {
      token: tokens.refresh_token,
      client_id: tc.client.id,
      client_secret: tc.secret,
    });
    expect(res.status, res.text).toBe(200);
    expect(await isActive(tc, tokens.refresh_token!)).toBe(false);
    expect(await isActive(tc, tokens.access_token)).toBe(false);
  });

  it('revoking a client_credentials JWT makes it inactive', async () => {
    const tc = await makeClient(ctx, { grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const cc = await postAsClient(server.url, '/token', tc, { grant_type: 'client_credentials' });
    expect(cc.status, cc.text).toBe(200);
    const token = String(cc.body.access_token);
    expect(await isActive(tc, token)).toBe(true);
    expect((await revoke(tc, { token })).status).toBe(200);
    expect(await isActive(tc, token)).toBe(false);
    expect(await isActive(resourceServer, token)).toBe(false);
    // Revoking it again is harmless.
    expect((await revoke(tc, { token })).status).toBe(200);
  });

  it('requires client authentication: 401 invalid_client', async () => {
    const { tc, tokens } = await issued();
    const none = await postForm(server.url, '/revoke', { token: tokens.access_token });
    expectOAuthError(none, 401, 'invalid_client');
    const wrong = await postForm(
      server.url,
      '/revoke',
      { token: tokens.access_token },
      { authorization: basicAuth(tc.client.id, 'wrong') },
    );
    expectOAuthError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const noSecret = await postForm(server.url, '/revoke', {
      token: tokens.access_token,
      client_id: tc.client.id,
    });
    expectOAuthError(noSecret, 401, 'invalid_client');
    expect(await isActive(tc, tokens.access_token)).toBe(true);
  });

  it('a missing token is invalid_request', async () => {
    const tc = await makeClient(ctx);
    expectOAuthError(await revoke(tc, {}), 400, 'invalid_request');
  });

  it('malformed bodies are 400 or 415, never 500', async () => {
    const tc = await makeClient(ctx);
    const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
    expectOAuthError(
      await postRaw(server.url, '/revoke', '{"token":', 'application/json', auth),
      400,
      'invalid_request',
    );
    expectOAuthError(await postJson(server.url, '/revoke', ['x'], auth), 400, 'invalid_request');
    expectOAuthError(
      await postJson(server.url, '/revoke', { token: { a: 1 } }, auth),
      400,
      'invalid_request',
    );
    expect((await postRaw(server.url, '/revoke', 'token=x', 'text/plain', auth)).status).toBe(415);
  });
});
