import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import {
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  obtainTokens,
  postAsClient,
  postForm,
  refresh,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';

/** A fresh client and person, and the tokens of one code flow. */
async function start(server: RunningServer, scope = 'openid profile email') {
  const ctx = server.app.tessera;
  const tc = await makeClient(ctx);
  const { user } = await makeUser(ctx);
  const tokens = await obtainTokens(server.url, ctx, tc, user, { scope });
  return { tc, user, tokens, refreshToken: tokens.refresh_token! };
}

async function expectInactive(server: RunningServer, tc: TestClient, token: string) {
  expect((await introspect(server.url, tc, token)).body).toEqual({ active: false });
}

async function expectActive(server: RunningServer, tc: TestClient, token: string) {
  expect((await introspect(server.url, tc, token)).body.active).toBe(true);
}

describe('refresh tokens (RFC 6749 §6, RFC 9700 §4.14)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  it('a confidential client made public loses its refresh tokens: they were bound to its secret', async () => {
    const { tc, refreshToken } = await start(server);
    const patched = await fetch(`${server.url}/admin/api/clients/${tc.client.id}`, {
      method: 'PATCH',
      headers: { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ client_type: 'public' }),
    });
    expect(patched.status).toBe(200);
    // Anyone with the client's id could now try it: it is revoked.
    const res = await postForm(server.url, '/token', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: tc.client.id,
    });
    expectOAuthError(res, 400, 'invalid_grant');
  });

  it('a scope taken from the client after the grant is not given again by a refresh', async () => {
    const { tc, user, refreshToken } = await start(server, 'openid profile email');
    await ctx.store.clients.update(tc.client.id, { scopes: ['openid', 'profile'] }, 0);
    ctx.clients.invalidate(tc.client.id);
    const res = await refresh(server.url, tc, refreshToken);
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('openid profile');
    const info = await userinfo(server.url, String(res.body.access_token));
    expect(info.body.email).toBeUndefined();
    expect(info.body.sub).toBe(user.id);
    // Nor by the successor, nor by asking for it.
    const asked = await refresh(server.url, tc, String(res.body.refresh_token), {
      scope: 'openid email',
    });
    expectOAuthError(asked, 400, 'invalid_scope');
  });

  it('rotate: every refresh returns a new refresh token and a new access token, not cached', async () => {
    const { tc, tokens, refreshToken } = await start(server);
    const first = await refresh(server.url, tc, refreshToken);
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'openid profile email',
    });
    expect(first.body.refresh_token).not.toBe(refreshToken);
    expect(first.body.access_token).not.toBe(tokens.access_token);
    const second = await refresh(server.url, tc, String(first.body.refresh_token));
    expect(second.status, second.text).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    // The rotated token no longer introspects as active.
    await expectInactive(server, tc, refreshToken);
    await expectActive(server, tc, String(second.body.refresh_token));
  });

  it('a rotated refresh token presented again fails with invalid_grant', async () => {
    const { tc, refreshToken } = await start(server);
    expect((await refresh(server.url, tc, refreshToken)).status).toBe(200);
    expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'invalid_grant');
  });

  it('reuse of a rotated token revokes the whole family, and only that family', async () => {
    const { tc, user, tokens, refreshToken } = await start(server);
    // A second family: the same person and client, another code flow (another device).
    const otherFamily = await obtainTokens(server.url, ctx, tc, user);

    const rotated = await refresh(server.url, tc, refreshToken);
    const newest = String(rotated.body.refresh_token);
    const newestAccess = String(rotated.body.access_token);
    expect(rotated.status).toBe(200);

    const reuse = await refresh(server.url, tc, refreshToken);
    expectOAuthError(reuse, 400, 'invalid_grant');

    // The newest refresh token and every access token of the family stop working.
    expectOAuthError(await refresh(server.url, tc, newest), 400, 'invalid_grant');
    await expectInactive(server, tc, newest);
    await expectInactive(server, tc, newestAccess);
    await expectInactive(server, tc, tokens.access_token);
    expect((await userinfo(server.url, newestAccess)).status).toBe(401);

    // The other family is untouched.
    await expectActive(server, tc, otherFamily.access_token);
    expect((await userinfo(server.url, otherFamily.access_token)).status).toBe(200);
    const other = await refresh(server.url, tc, otherFamily.refresh_token!);
    expect(other.status, other.text).toBe(200);
  });

  it('is rotated once: of concurrent refreshes exactly one succeeds', async () => {
    const { tc, refreshToken } = await start(server);
    const results = await Promise.all([1, 2, 3].map(() => refresh(server.url, tc, refreshToken)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) {
      expectOAuthError(r, 400, 'invalid_grant');
    }
  });

  it('a reuse detected by a concurrent request revokes the tokens of the request that won too', async () => {
    const { tc, refreshToken } = await start(server);
    const results = await Promise.all([1, 2].map(() => refresh(server.url, tc, refreshToken)));
    const winner = results.find((r) => r.status === 200);
    expect(winner, results.map((r) => r.text).join('\n')).toBeDefined();
    // The same token presented twice at once is a reuse (RFC 9700 §4.14.2): whichever request
    // lost, the family is revoked, and the winner's new tokens with it.
    await expectInactive(server, tc, String(winner!.body.refresh_token));
    await expectInactive(server, tc, String(winner!.body.access_token));
    expectOAuthError(
      await refresh(server.url, tc, String(winner!.body.refresh_token)),
      400,
      'invalid_grant',
    );
  });

  it('a refresh token issued to another client is invalid_grant and is not spent', async () => {
    const { tc, refreshToken } = await start(server);
    const thief = await makeClient(ctx);
    expectOAuthError(await refresh(server.url, thief, refreshToken), 400, 'invalid_grant');
    const own = await refresh(server.url, tc, refreshToken);
    expect(own.status, own.text).toBe(200);
  });

  it('a narrower scope works and is the scope of the new access token', async () => {
    const { tc, refreshToken } = await start(server);
    const narrower = await refresh(server.url, tc, refreshToken, { scope: 'openid email' });
    expect(narrower.status, narrower.text).toBe(200);
    expect(narrower.body.scope).toBe('openid email');
    expect(decodeJwt(String(narrower.body.access_token)).scope).toBe('openid email');
    const info = await userinfo(server.url, String(narrower.body.access_token));
    expect(info.body.email).toBeDefined();
    expect(info.body.preferred_username).toBeUndefined();
    // The new refresh token keeps the original grant: a later request may ask for all of it.
    const full = await refresh(server.url, tc, String(narrower.body.refresh_token));
    expect(full.body.scope).toBe('openid profile email');
  });

  it('a scope without openid gets no ID token', async () => {
    const { tc, refreshToken } = await start(server);
    const res = await refresh(server.url, tc, refreshToken, { scope: 'email' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('email');
    expect(res.body.id_token).toBeUndefined();
  });

  it('a wider scope is invalid_scope', async () => {
    const { tc, refreshToken } = await start(server, 'openid email');
    for (const scope of ['openid email profile', 'phone', 'openid email api:admin']) {
      expectOAuthError(
        await refresh(server.url, tc, refreshToken, { scope }),
        400,
        'invalid_scope',
      );
    }
  });

  it('with openid in scope returns a new ID token for the same person and sign-in', async () => {
    const { tc, user, tokens, refreshToken } = await start(server);
    clock.advance(30);
    const res = await refresh(server.url, tc, refreshToken);
    expect(res.status, res.text).toBe(200);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(String(res.body.id_token), jwks, {
      issuer: server.url,
      audience: tc.client.id,
      currentDate: new Date(clock.now()),
    });
    const original = decodeJwt(tokens.id_token!);
    expect(payload.sub).toBe(user.id);
    expect(typeof original.auth_time).toBe('number');
    expect(payload.auth_time).toBe(original.auth_time);
    expect(payload.iat).toBe(Math.floor(clock.now() / 1000));
    expect(res.body.id_token).not.toBe(tokens.id_token);
  });

  it('a revoked refresh token is invalid_grant', async () => {
    const { tc, refreshToken } = await start(server);
    expect((await postAsClient(server.url, '/revoke', tc, { token: refreshToken })).status).toBe(
      200,
    );
    expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'invalid_grant');
  });

  it('an unknown refresh token is invalid_grant; a missing one is invalid_request', async () => {
    const tc = await makeClient(ctx);
    expectOAuthError(await refresh(server.url, tc, 'no-such-token'), 400, 'invalid_grant');
    expectOAuthError(await refresh(server.url, tc, 'r'.repeat(600)), 400, 'invalid_grant');
    const { tokens } = await start(server);
    // An access token is not a refresh token.
    expectOAuthError(await refresh(server.url, tc, tokens.access_token), 400, 'invalid_grant');
    expectOAuthError(
      await postAsClient(server.url, '/token', tc, { grant_type: 'refresh_token' }),
      400,
      'invalid_request',
    );
  });

  it('a client no longer allowed the refresh_token grant is unauthorized_client', async () => {
    const { tc, refreshToken } = await start(server);
    await ctx.store.clients.update(tc.client.id, { grantTypes: ['authorization_code'] }, 0);
    ctx.clients.invalidate(tc.client.id);
    expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'unauthorized_client');
  });

  it('a public client refreshes with its client_id alone', async () => {
    const ctx2 = server.app.tessera;
    const tc = await makeClient(ctx2, { type: 'public' });
    const { user } = await makeUser(ctx2);
    const tokens = await obtainTokens(server.url, ctx2, tc, user);
    const res = await refresh(server.url, tc, tokens.refresh_token!);
    expect(res.status, res.text).toBe(200);
    expect(typeof res.body.refresh_token).toBe('string');
  });

  it('revoking the grant (connected apps) ends every refresh token under it', async () => {
    const { tc, user, refreshToken } = await start(server);
    const grant = await ctx.store.grants.find(user.id, tc.client.id);
    await ctx.store.grants.revoke(grant!.id, Math.floor(clock.now() / 1000));
    expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'invalid_grant');
  });
});

describe('refresh grace window and lifetime (TESSERA_REFRESH_GRACE_SECONDS=10, TESSERA_REFRESH_TOKEN_TTL=100)', () => {
  let server: RunningServer;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({
      clock,
      env: { TESSERA_REFRESH_GRACE_SECONDS: '10', TESSERA_REFRESH_TOKEN_TTL: '100' },
    });
  });
  afterAll(async () => server.close());

  it('a rotated token presented again by the same client within 10 s still works (two tabs)', async () => {
    const { tc, refreshToken } = await start(server);
    const tab1 = await refresh(server.url, tc, refreshToken);
    expect(tab1.status, tab1.text).toBe(200);
    clock.advance(5);
    const tab2 = await refresh(server.url, tc, refreshToken);
    expect(tab2.status, tab2.text).toBe(200);
    expect(tab2.body.refresh_token).not.toBe(tab1.body.refresh_token);
    // Both tabs carry on.
    expect((await refresh(server.url, tc, String(tab1.body.refresh_token))).status).toBe(200);
    expect((await refresh(server.url, tc, String(tab2.body.refresh_token))).status).toBe(200);
  });

  it('two tabs refreshing at the same moment both succeed', async () => {
    const { tc, refreshToken } = await start(server);
    const [a, b] = await Promise.all([
      refresh(server.url, tc, refreshToken),
      refresh(server.url, tc, refreshToken),
    ]);
    expect(a!.status, a!.text).toBe(200);
    expect(b!.status, b!.text).toBe(200);
  });

  it('works at exactly 10 s', async () => {
    const { tc, refreshToken } = await start(server);
    expect((await refresh(server.url, tc, refreshToken)).status).toBe(200);
    clock.advance(10);
    const retry = await refresh(server.url, tc, refreshToken);
    expect(retry.status, retry.text).toBe(200);
  });

  it('after 10 s the reuse revokes the family', async () => {
    const { tc, refreshToken } = await start(server);
    const rotated = await refresh(server.url, tc, refreshToken);
    const newest = String(rotated.body.refresh_token);
    clock.advance(11);
    expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'invalid_grant');
    expectOAuthError(await refresh(server.url, tc, newest), 400, 'invalid_grant');
    await expectInactive(server, tc, String(rotated.body.access_token));
  });

  it('by another client it never works, even within the window', async () => {
    const { tc, refreshToken } = await start(server);
    const rotated = await refresh(server.url, tc, refreshToken);
    expect(rotated.status).toBe(200);
    const other = await makeClient(server.app.tessera);
    expectOAuthError(await refresh(server.url, other, refreshToken), 400, 'invalid_grant');
    expectOAuthError(
      await refresh(server.url, other, String(rotated.body.refresh_token)),
      400,
      'invalid_grant',
    );
  });

  it('a refresh token expires TESSERA_REFRESH_TOKEN_TTL seconds after the grant', async () => {
    const { tc, refreshToken } = await start(server);
    const intro = await introspect(server.url, tc, refreshToken);
    expect(intro.body).toMatchObject({ active: true, token_type: 'refresh_token' });
    expect((intro.body.exp as number) - Math.floor(clock.now() / 1000)).toBe(100);
    clock.advance(100);
    expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'invalid_grant');
    await expectInactive(server, tc, refreshToken);
  });

  it('rotation does not extend the absolute lifetime of the family', async () => {
    const { tc, refreshToken } = await start(server);
    clock.advance(60);
    const rotated = await refresh(server.url, tc, refreshToken);
    expect(rotated.status, rotated.text).toBe(200);
    clock.advance(39);
    const again = await refresh(server.url, tc, String(rotated.body.refresh_token));
    expect(again.status, again.text).toBe(200);
    clock.advance(1);
    expectOAuthError(
      await refresh(server.url, tc, String(again.body.refresh_token)),
      400,
      'invalid_grant',
    );
  });
});
