import { decodeJwt } from 'jose';
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
  refresh,
  type TestClient,
} from '../helpers/oauth.js';

describe('/introspect (RFC 7662)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  /** A resource server: a confidential client that may introspect access tokens for the issuer. */
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

  async function issued(overrides = {}, scope?: string) {
    const tc = await makeClient(ctx, overrides);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user, scope ? { scope } : {});
    return { tc, user, tokens };
  }

  it('an active access token answers active, scope, client_id, username, sub, aud, iss, exp, iat, token_type', async () => {
    const { tc, user, tokens } = await issued();
    const res = await introspect(server.url, resourceServer, tokens.access_token);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const claims = decodeJwt(tokens.access_token);
    expect(res.body).toMatchObject({
      active: true,
      scope: 'openid profile email',
      client_id: tc.client.id,
      username: user.username,
      sub: user.id,
      aud: server.url,
      iss: server.url,
      exp: claims.exp,
      iat: claims.iat,
      token_type: 'Bearer',
    });
    expect(res.body.jti).toBe(claims.jti);
  });

  it('the client the token was issued to may introspect it too', async () => {
    const { tc, tokens } = await issued();
    expect((await introspect(server.url, tc, tokens.access_token)).body.active).toBe(true);
  });

  it('a refresh token introspects for its own client, with token_type refresh_token and the family end as exp', async () => {
    const { tc, user, tokens } = await issued({}, 'openid profile email offline_access');
    const now = Math.floor(clock.now() / 1000);
    const res = await introspect(server.url, tc, tokens.refresh_token!, {
      token_type_hint: 'refresh_token',
    });
    expect(res.body).toMatchObject({
      active: true,
      scope: 'openid profile email offline_access',
      client_id: tc.client.id,
      username: user.username,
      sub: user.id,
      iss: server.url,
      iat: now,
      exp: now + 30 * 24 * 3600,
      token_type: 'refresh_token',
    });
    // Found without the hint too.
    expect((await introspect(server.url, tc, tokens.refresh_token!)).body.active).toBe(true);
  });

  it('a rotated refresh token is inactive', async () => {
    const { tc, tokens } = await issued();
    expect((await refresh(server.url, tc, tokens.refresh_token!)).status).toBe(200);
    expect((await introspect(server.url, tc, tokens.refresh_token!)).body).toEqual({
      active: false,
    });
  });

  it('a wrong or unknown token_type_hint still finds the token', async () => {
    const { tc, tokens } = await issued();
    for (const hint of ['refresh_token', 'id_token', 'whatever']) {
      const res = await introspect(server.url, tc, tokens.access_token, { token_type_hint: hint });
      expect(res.status, res.text).toBe(200);
      expect(res.body.active).toBe(true);
    }
    const rt = await introspect(server.url, tc, tokens.refresh_token!, {
      token_type_hint: 'access_token',
    });
    expect(rt.body.active).toBe(true);
  });

  it('an expired token answers exactly {"active": false} (frozen clock)', async () => {
    const { tc, tokens } = await issued();
    const opaque = await issued({ accessTokenFormat: 'opaque' });
    clock.advance(3600);
    expect((await introspect(server.url, tc, tokens.access_token)).body).toEqual({
      active: false,
    });
    expect((await introspect(server.url, opaque.tc, opaque.tokens.access_token)).body).toEqual({
      active: false,
    });
  });

  it('a revoked token answers exactly {"active": false}', async () => {
    const { tc, tokens } = await issued();
    // Introspected once first: a token already seen must turn inactive at once.
    expect((await introspect(server.url, resourceServer, tokens.access_token)).body.active).toBe(
      true,
    );
    expect(
      (await postAsClient(server.url, '/revoke', tc, { token: tokens.access_token })).status,
    ).toBe(200);
    const res = await introspect(server.url, resourceServer, tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it('an unknown token answers exactly {"active": false}', async () => {
    for (const token of ['no-such-token', 'a.b.c', 'x'.repeat(1000), 'eyJhbGciOiJub25lIn0.e30.']) {
      const res = await introspect(server.url, resourceServer, token);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ active: false });
    }
  });

  it('an ID token is not an access token: {"active": false}', async () => {
    const { tc, tokens } = await issued();
    expect((await introspect(server.url, tc, tokens.id_token!)).body).toEqual({ active: false });
  });

  it('a token of a deleted person answers {"active": false}', async () => {
    const { tc, user, tokens } = await issued({ accessTokenFormat: 'opaque' });
    expect((await introspect(server.url, tc, tokens.access_token)).body.active).toBe(true);
    await ctx.store.users.delete(user.id);
    expect((await introspect(server.url, tc, tokens.access_token)).body).toEqual({
      active: false,
    });
  });

  it("another confidential client learns nothing about someone else's access or refresh token", async () => {
    // The review's finding: any confidential client could read anyone's tokens here.
    const owner = await issued();
    const opaque = await issued({ accessTokenFormat: 'opaque' });
    const stranger = await makeClient(ctx);
    for (const token of [
      owner.tokens.access_token,
      owner.tokens.refresh_token!,
      opaque.tokens.access_token,
      opaque.tokens.refresh_token!,
    ]) {
      for (const hint of [undefined, 'access_token', 'refresh_token']) {
        const res = await introspect(server.url, stranger, token, { token_type_hint: hint });
        expect(res.status, res.text).toBe(200);
        expect(res.body).toEqual({ active: false });
      }
    }
    // The owner still sees both.
    expect((await introspect(server.url, owner.tc, owner.tokens.access_token)).body.active).toBe(
      true,
    );
    expect((await introspect(server.url, owner.tc, owner.tokens.refresh_token!)).body.active).toBe(
      true,
    );
  });

  it("a resource server sees other clients' access tokens, never their refresh tokens", async () => {
    const { tokens } = await issued({ accessTokenFormat: 'opaque' });
    expect((await introspect(server.url, resourceServer, tokens.access_token)).body.active).toBe(
      true,
    );
    for (const hint of [undefined, 'refresh_token']) {
      const res = await introspect(server.url, resourceServer, tokens.refresh_token!, {
        token_type_hint: hint,
      });
      expect(res.body).toEqual({ active: false });
    }
  });

  it('a public client cannot introspect, not even its own tokens: 401 invalid_client', async () => {
    const { tc, tokens } = await issued({ type: 'public' });
    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      const res = await postForm(server.url, '/introspect', { token, client_id: tc.client.id });
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.body.active).toBeUndefined();
      expect(JSON.stringify(res.body)).not.toContain(tc.client.id);
    }
  });

  it('requires client authentication: 401 invalid_client', async () => {
    const { tc, tokens } = await issued();
    const none = await postForm(server.url, '/introspect', { token: tokens.access_token });
    expectOAuthError(none, 401, 'invalid_client');
    expect(none.body.active).toBeUndefined();
    const wrong = await postForm(
      server.url,
      '/introspect',
      { token: tokens.access_token },
      { authorization: basicAuth(tc.client.id, 'wrong') },
    );
    expectOAuthError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const unknown = await postForm(server.url, '/introspect', {
      token: tokens.access_token,
      client_id: 'no-such-client',
    });
    expectOAuthError(unknown, 401, 'invalid_client');
    const bearer = await postForm(
      server.url,
      '/introspect',
      { token: tokens.access_token },
      { authorization: `Bearer ${tokens.access_token}` },
    );
    expectOAuthError(bearer, 401, 'invalid_client');
  });

  it('a missing token is invalid_request', async () => {
    expectOAuthError(await introspect(server.url, resourceServer, ''), 400, 'invalid_request');
  });

  it('accepts only the client authentication method the caller registered', async () => {
    const { tc, tokens } = await issued();
    const inBody = await postForm(server.url, '/introspect', {
      token: tokens.access_token,
      client_id: tc.client.id,
      client_secret: tc.secret!,
    });
    expectOAuthError(inBody, 401, 'invalid_client');
    const post = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
    const byBasic = await postForm(
      server.url,
      '/introspect',
      { token: tokens.access_token },
      { authorization: basicAuth(post.client.id, post.secret!) },
    );
    expectOAuthError(byBasic, 401, 'invalid_client');
    expect((await introspect(server.url, tc, tokens.access_token)).body.active).toBe(true);
  });

  it('accepts a JSON body', async () => {
    const { tc, tokens } = await issued({ tokenEndpointAuthMethod: 'client_secret_post' });
    const res = await postJson(server.url, '/introspect', {
      token: tokens.access_token,
      client_id: tc.client.id,
      client_secret: tc.secret,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.active).toBe(true);
  });
});
