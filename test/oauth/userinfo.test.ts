import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  basicAuth,
  expectOAuthError,
  makeClient,
  makeUser,
  obtainTokens,
  postAsClient,
  postForm,
  postRaw,
  userinfo,
} from '../helpers/oauth.js';

describe('/userinfo (OpenID Connect Core §5.3, RFC 6750)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function accessToken(scope: string, overrides = {}) {
    const tc = await makeClient(ctx, overrides);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user, { scope });
    return { tc, user, token: tokens.access_token };
  }

  const expectInvalidToken = (res: { status: number; headers: Headers; body: unknown }) => {
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="[^"]+"/);
    expect(challenge).toContain('error="invalid_token"');
    expect(res.body).toMatchObject({ error: 'invalid_token' });
  };

  describe('the token', () => {
    it('GET with the Authorization header answers the claims, not cached', async () => {
      const { user, token } = await accessToken('openid profile email');
      const res = await userinfo(server.url, token);
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body.sub).toBe(user.id);
    });

    it('POST with the token in a form body works (RFC 6750 §2.2)', async () => {
      const { user, token } = await accessToken('openid email');
      const res = await postForm(server.url, '/userinfo', { access_token: token });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ sub: user.id, email: user.email });
    });

    it('POST with the Authorization header works', async () => {
      const { user, token } = await accessToken('openid');
      const res = await postForm(server.url, '/userinfo', {}, { authorization: `Bearer ${token}` });
      expect(res.status, res.text).toBe(200);
      expect(res.body.sub).toBe(user.id);
    });

    it('the scheme name is case-insensitive', async () => {
      const { user, token } = await accessToken('openid');
      const res = await fetch(`${server.url}/userinfo`, {
        headers: { authorization: `bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { sub: string }).sub).toBe(user.id);
    });
  });

  describe('claims by scope', () => {
    it('openid alone releases only sub', async () => {
      const { user, token } = await accessToken('openid');
      expect((await userinfo(server.url, token)).body).toEqual({ sub: user.id });
    });

    it('profile releases preferred_username, given_name, family_name and two_factor', async () => {
      const { user, token } = await accessToken('openid profile');
      const { body } = await userinfo(server.url, token);
      expect(body).toMatchObject({
        sub: user.id,
        preferred_username: user.username,
        given_name: 'Alice',
        family_name: 'Liddell',
        name: 'Alice Liddell',
        two_factor: false,
      });
      expect(body.email).toBeUndefined();
      expect(body.phone_number).toBeUndefined();
    });

    it('email releases email and email_verified', async () => {
      const { user, token } = await accessToken('openid email');
      const { body } = await userinfo(server.url, token);
      expect(body).toEqual({ sub: user.id, email: user.email, email_verified: false });
    });

    it('phone releases phone_number', async () => {
      const { user, token } = await accessToken('openid phone');
      const { body } = await userinfo(server.url, token);
      expect(body).toMatchObject({ sub: user.id, phone_number: '+44 20 7946 0000' });
      expect(body.email).toBeUndefined();
      expect(body.preferred_username).toBeUndefined();
    });

    it('answers the person as they are now, not as they were when the token was issued', async () => {
      const { user, token } = await accessToken('openid profile email');
      // Answered once first: a token already seen must still show the change at once.
      expect((await userinfo(server.url, token)).body.given_name).not.toBe('Alicia');
      await ctx.store.users.update(
        user.id,
        { givenName: 'Alicia', emailVerified: true, twoFactor: true },
        Math.floor(clock.now() / 1000),
      );
      const { body } = await userinfo(server.url, token);
      expect(body).toMatchObject({ given_name: 'Alicia', email_verified: true, two_factor: true });
    });
  });

  describe('errors (RFC 6750 §3)', () => {
    it('a missing token is 401 with a bare Bearer challenge and no error code in it', async () => {
      for (const res of [
        await fetch(`${server.url}/userinfo`),
        await fetch(`${server.url}/userinfo`, { method: 'POST' }),
        await fetch(`${server.url}/userinfo`, { headers: { authorization: 'Basic abc=' } }),
      ]) {
        expect(res.status).toBe(401);
        const challenge = res.headers.get('www-authenticate') ?? '';
        expect(challenge).toMatch(/^Bearer realm="[^"]+"$/);
        expect(challenge).not.toContain('error=');
      }
    });

    it('a garbage token is 401 invalid_token', async () => {
      for (const garbage of ['garbage', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA']) {
        expectInvalidToken(await userinfo(server.url, garbage));
      }
    });

    it('an expired token is 401 invalid_token (frozen clock)', async () => {
      const { token } = await accessToken('openid');
      // Answered once first, so that its verified signature is remembered: expiry still counts.
      expect((await userinfo(server.url, token)).status).toBe(200);
      clock.advance(3600);
      expectInvalidToken(await userinfo(server.url, token));
    });

    it('a revoked token is 401 invalid_token', async () => {
      const { tc, token } = await accessToken('openid');
      expect((await userinfo(server.url, token)).status).toBe(200);
      expect((await postAsClient(server.url, '/revoke', tc, { token })).status).toBe(200);
      expectInvalidToken(await userinfo(server.url, token));
    });

    it('a token of a deleted person is 401 invalid_token', async () => {
      const { user, token } = await accessToken('openid');
      expect((await userinfo(server.url, token)).status).toBe(200);
      await ctx.store.users.delete(user.id);
      expectInvalidToken(await userinfo(server.url, token));
    });

    it('a token without the openid scope is 403 insufficient_scope', async () => {
      const { token } = await accessToken('profile email');
      const res = await userinfo(server.url, token);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="[^"]+"/);
      expect(challenge).toContain('error="insufficient_scope"');
      expect(challenge).toContain('scope="openid"');
    });

    it('a token sent both in the header and the body is 400 invalid_request', async () => {
      const { token } = await accessToken('openid');
      const res = await postForm(
        server.url,
        '/userinfo',
        { access_token: token },
        { authorization: `Bearer ${token}` },
      );
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('access_token sent twice in the body is 400 invalid_request', async () => {
      const { token } = await accessToken('openid');
      const res = await postRaw(
        server.url,
        '/userinfo',
        `access_token=${token}&access_token=${token}`,
        'application/x-www-form-urlencoded',
      );
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('a malformed Bearer header is 400 invalid_request', async () => {
      const res = await fetch(`${server.url}/userinfo`, {
        headers: { authorization: 'Bearer two words' },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    });

    it('a client_credentials token is 401 invalid_token: it speaks for no person', async () => {
      const tc = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
      });
      const cc = await postForm(
        server.url,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basicAuth(tc.client.id, tc.secret!) },
      );
      expect(cc.status, cc.text).toBe(200);
      expectInvalidToken(await userinfo(server.url, String(cc.body.access_token)));
    });

    it('a refresh token is not an access token: 401 invalid_token', async () => {
      const tc = await makeClient(ctx, { accessTokenFormat: 'opaque' });
      const { user } = await makeUser(ctx);
      const tokens = await obtainTokens(server.url, ctx, tc, user, { scope: 'openid' });
      expectInvalidToken(await userinfo(server.url, tokens.refresh_token!));
    });
  });
});
