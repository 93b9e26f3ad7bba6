import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { sha256 } from '../../src/lib/hash.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  introspect,
  makeClient,
  makeUser,
  obtainTokens,
  postAsClient,
  userinfo,
} from '../helpers/oauth.js';

const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens (RFC 9068)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  it('are JWTs signed with ES256, typ at+jwt and a kid published at /jwks, with every RFC 9068 claim', async () => {
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.url,
      audience: server.url,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(protectedHeader.alg).toBe('ES256');
    expect(typeof protectedHeader.kid).toBe('string');
    const published = (await (await fetch(`${server.url}/jwks`)).json()) as {
      keys: { kid: string; kty: string; crv?: string; d?: string }[];
    };
    const signer = published.keys.find((k) => k.kid === protectedHeader.kid);
    expect(signer).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(published.keys.every((k) => k.d === undefined)).toBe(true);

    expect(payload).toMatchObject({
      iss: server.url,
      sub: user.id,
      aud: server.url,
      client_id: tc.client.id,
      scope: 'openid profile email',
    });
    expect(typeof payload.jti).toBe('string');
    expect(payload.iat).toBe(Math.floor(clock.now() / 1000));
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(tokens.expires_in).toBe(3600);
  });

  it('carry a different jti each time', async () => {
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const a = await obtainTokens(server.url, ctx, tc, user);
    const b = await obtainTokens(server.url, ctx, tc, user);
    const jti = (t: string) =>
      JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti;
    expect(jti(a.access_token)).not.toBe(jti(b.access_token));
  });

  it('stop working once exp has passed (frozen clock)', async () => {
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    clock.advance(3599);
    expect((await userinfo(server.url, tokens.access_token)).status).toBe(200);
    clock.advance(1);
    expect((await userinfo(server.url, tokens.access_token)).status).toBe(401);
    expect((await introspect(server.url, tc, tokens.access_token)).body).toEqual({
      active: false,
    });
  });

  it('a JWT whose payload was altered, or that claims alg none, is refused', async () => {
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const { user: other } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    const [header, payload, signature] = tokens.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const altered = `${header}.${b64json({ ...claims, sub: other.id })}.${signature}`;
    const none = `${b64json({ alg: 'none', typ: 'at+jwt', kid: decodeProtectedHeader(tokens.access_token).kid })}.${payload}.`;
    const hs256 = `${b64json({ ...decodeProtectedHeader(tokens.access_token), alg: 'HS256' })}.${payload}.${signature}`;
    const noKid = `${b64json({ alg: 'ES256', typ: 'at+jwt' })}.${payload}.${signature}`;
    const crit = `${b64json({ ...decodeProtectedHeader(tokens.access_token), crit: ['x'] })}.${payload}.${signature}`;
    for (const forged of [altered, none, hs256, noKid, crit, `${header}.${payload}.AAAA`]) {
      const info = await userinfo(server.url, forged);
      expect(info.status, forged).toBe(401);
      expect(info.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await introspect(server.url, tc, forged)).body).toEqual({ active: false });
    }
  });

  it('an ID token is not accepted as an access token', async () => {
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    const info = await userinfo(server.url, tokens.id_token!);
    expect(info.status).toBe(401);
    expect((await introspect(server.url, tc, tokens.id_token!)).body).toEqual({ active: false });
  });

  describe('a client set to opaque access tokens', () => {
    it('gets a token that is not a JWT, works at /userinfo and /introspect, and is stored hashed', async () => {
      const tc = await makeClient(ctx, { accessTokenFormat: 'opaque' });
      const { user } = await makeUser(ctx);
      const tokens = await obtainTokens(server.url, ctx, tc, user);
      const token = tokens.access_token;
      expect(token.split('.')).toHaveLength(1);
      expect(token.length).toBeGreaterThanOrEqual(43);
      expect(tokens.expires_in).toBe(3600);

      const info = await userinfo(server.url, token);
      expect(info.status, info.text).toBe(200);
      expect(info.body.sub).toBe(user.id);

      const intro = await introspect(server.url, tc, token);
      expect(intro.body).toMatchObject({
        active: true,
        client_id: tc.client.id,
        sub: user.id,
        username: user.username,
        scope: 'openid profile email',
        token_type: 'Bearer',
        iss: server.url,
      });
      expect((intro.body.exp as number) - (intro.body.iat as number)).toBe(3600);

      expect(await ctx.store.tokens.find(token)).toBeUndefined();
      const stored = await ctx.store.tokens.find(sha256(token));
      expect(stored).toMatchObject({ kind: 'access', format: 'opaque', clientId: tc.client.id });
    });

    it('whose token is revoked stops working', async () => {
      const tc = await makeClient(ctx, { accessTokenFormat: 'opaque' });
      const { user } = await makeUser(ctx);
      const tokens = await obtainTokens(server.url, ctx, tc, user);
      const revoked = await postAsClient(server.url, '/revoke', tc, { token: tokens.access_token });
      expect(revoked.status).toBe(200);
      expect((await userinfo(server.url, tokens.access_token)).status).toBe(401);
      expect((await introspect(server.url, tc, tokens.access_token)).body).toEqual({
        active: false,
      });
    });

    it('whose token expires stops working (frozen clock)', async () => {
      const tc = await makeClient(ctx, { accessTokenFormat: 'opaque' });
      const { user } = await makeUser(ctx);
      const tokens = await obtainTokens(server.url, ctx, tc, user);
      clock.advance(3600);
      expect((await userinfo(server.url, tokens.access_token)).status).toBe(401);
      expect((await introspect(server.url, tc, tokens.access_token)).body).toEqual({
        active: false,
      });
    });
  });
});

describe('access token lifetime TESSERA_ACCESS_TOKEN_TTL=120', () => {
  let server: RunningServer;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock, env: { TESSERA_ACCESS_TOKEN_TTL: '120' } });
  });
  afterAll(async () => server.close());

  it('sets exp 120 seconds after iat and expires_in to 120', async () => {
    const ctx = server.app.tessera;
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    expect(tokens.expires_in).toBe(120);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.url,
      typ: 'at+jwt',
      currentDate: new Date(clock.now()),
    });
    expect(payload.exp! - payload.iat!).toBe(120);
    clock.advance(120);
    expect((await userinfo(server.url, tokens.access_token)).status).toBe(401);
  });

  it('applies to opaque tokens too', async () => {
    const ctx = server.app.tessera;
    const tc = await makeClient(ctx, { accessTokenFormat: 'opaque' });
    const { user } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    expect(tokens.expires_in).toBe(120);
    const intro = await introspect(server.url, tc, tokens.access_token);
    expect((intro.body.exp as number) - (intro.body.iat as number)).toBe(120);
  });
});
