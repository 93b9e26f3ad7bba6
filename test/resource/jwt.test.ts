import { createPublicKey, randomUUID } from 'node:crypto';
import { generateKeyPair, type JWTPayload, SignJWT } from 'jose';
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
import { dpopKey, makeProof } from '../helpers/dpop.js';
import { makeClient, postAsClient, type TestClient } from '../helpers/oauth.js';
import { countingFetch } from '../helpers/resource.js';

/*
 * JWT access tokens checked locally (RFC 9068): real tokens from a listening Tessera, and
 * forgeries signed with Tessera's own private key (to reach each claim check past the
 * signature) or with none, HMAC or a stranger's key.
 */
describe('tessera/resource: JWT access tokens', () => {
  let tessera: RunningServer;
  let ctx: AppContext;
  let service: TestClient;
  let options: ResourceOptions;
  let verifier: TokenVerifier;
  const clock = new FrozenClock();

  beforeAll(async () => {
    tessera = await startServer({ clock });
    ctx = tessera.app.tessera;
    options = { issuer: tessera.url, resource: tessera.url, now: () => clock.now() };
    verifier = createTokenVerifier(options);
    service = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: ['notes:read', 'notes:write'],
    });
  });
  afterAll(async () => tessera?.close());

  const token = async (tc = service) => {
    const res = await postAsClient(tessera.url, '/token', tc, {
      grant_type: 'client_credentials',
      scope: 'notes:read',
    });
    expect(res.status, res.text).toBe(200);
    return String(res.body.access_token);
  };

  /** Claims as Tessera would sign them, for the issuer's own audience. */
  const claims = (overrides: JWTPayload = {}): JWTPayload => {
    const now = Math.floor(clock.now() / 1000);
    return {
      iss: tessera.url,
      aud: tessera.url,
      sub: service.client.id,
      client_id: service.client.id,
      scope: 'notes:read',
      jti: randomUUID(),
      iat: now,
      exp: now + 600,
      ...overrides,
    };
  };
  /** Signed with Tessera's current ES256 key: only the claims can be wrong. */
  const signed = (payload: JWTPayload, header: Record<string, unknown> = {}) => {
    const key = ctx.keys.signingKey('ES256');
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })
      .sign(key.privateKey);
  };
  const refusal = async (t: string, scopes: string[] = [], v = verifier) => {
    const error = await v.verify(t, scopes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenError);
    return error as TokenError;
  };
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('accepts a real token, and one forged here with the right claims (the forgery helper is sound)', async () => {
    const info = await verifier.verify(await token(), ['notes:read']);
    expect(info).toMatchObject({ clientId: service.client.id, scopes: ['notes:read'] });
    expect((await verifier.verify(await signed(claims()))).clientId).toBe(service.client.id);
  });

  it('refuses a token for another audience', async () => {
    const e = await refusal(await signed(claims({ aud: 'https://other.example.com' })));
    expect(e).toMatchObject({ status: 401, error: 'invalid_token' });
    expect(e.message).toBe('the access token is not meant for this resource (aud)');
    // An array naming the resource is fine (RFC 7519 §4.1.3).
    const both = claims({ aud: ['https://other.example.com', tessera.url] });
    expect((await verifier.verify(await signed(both))).clientId).toBe(service.client.id);
  });

  it('refuses a token from another issuer, even signed with the trusted key', async () => {
    const e = await refusal(await signed(claims({ iss: 'https://evil.example.com' })));
    expect(e.message).toBe('the access token was not issued by the trusted issuer (iss)');
  });

  it('refuses a token that is not valid yet (nbf), and one without exp or client_id', async () => {
    const now = Math.floor(clock.now() / 1000);
    expect((await refusal(await signed(claims({ nbf: now + 60 })))).message).toMatch(/nbf/);
    expect((await refusal(await signed(claims({ exp: undefined })))).message).toMatch(/exp/);
    const noClient = await refusal(await signed(claims({ client_id: undefined })));
    expect(noClient.message).toMatch(/client_id/);
  });

  it('refuses an ID token or any JWT whose typ is not at+jwt', async () => {
    expect((await refusal(await signed(claims(), { typ: 'JWT' }))).message).toMatch(/at\+jwt/);
    const header = ctx.keys.signingKey('ES256');
    const noTyp = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: header.kid })
      .sign(header.privateKey);
    await refusal(noTyp);
  });

  it('refuses alg none', async () => {
    const kid = ctx.keys.signingKey('ES256').kid;
    const none = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims())}.`;
    const e = await refusal(none);
    expect(e.message).toBe('the access token is not signed with an accepted algorithm');
  });

  it('refuses HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const key = ctx.keys.signingKey('ES256');
    const pem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' });
    for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(key.publicJwk))]) {
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })
        .sign(secret);
      const e = await refusal(forged);
      expect(e.message).toBe('the access token is not signed with an accepted algorithm');
    }
  });

  it('refuses a tampered signature and a tampered payload', async () => {
    const real = await token();
    const [h, p, s] = real.split('.') as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect((await refusal(`${h}.${p}.${flipped}`)).message).toBe(
      "the access token's signature is invalid",
    );
    const widened = b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: 'admin' });
    expect((await refusal(`${h}.${widened}.${s}`)).message).toBe(
      "the access token's signature is invalid",
    );
  });

  it('refuses a token signed by a key that is not the issuer’s, fetching the JWKS at most once per cooldown', async () => {
    const counter = countingFetch('/jwks');
    const v = createTokenVerifier({ ...options, fetch: counter.fetch });
    await v.verify(await token());
    expect(counter.count()).toBe(1);
    const stranger = await generateKeyPair('ES256');
    for (let i = 0; i < 5; i += 1) {
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: `forged-${i}` })
        .sign(stranger.privateKey);
      const e = await refusal(forged, [], v);
      expect(e.message).toBe("the access token's signing key is not one of the issuer's keys");
    }
    // The first unknown kid is still within the cooldown of the first download: no refetch.
    expect(counter.count()).toBe(1);
  });

  it('refuses a token from another Tessera', async () => {
    const other = await startServer();
    try {
      const tc = await makeClient(other.app.tessera, {
        grantTypes: ['client_credentials'],
        scopes: ['notes:read'],
      });
      const res = await postAsClient(other.url, '/token', tc, { grant_type: 'client_credentials' });
      await refusal(String(res.body.access_token));
    } finally {
      await other.close();
    }
  });

  it('refuses a DPoP-bound token presented as a bearer token (RFC 9449 §7.1)', async () => {
    const tc = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: ['notes:read'],
      dpopBoundAccessTokens: true,
    });
    const key = await dpopKey();
    const proof = await makeProof(key, {
      htu: `${tessera.url}/token`,
      iat: Math.floor(clock.now() / 1000),
    });
    const auth = {
      authorization: `Basic ${Buffer.from(`${tc.client.id}:${tc.secret}`).toString('base64')}`,
    };
    const res = await fetch(`${tessera.url}/token`, {
      method: 'POST',
      headers: { ...auth, dpop: proof, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type, JSON.stringify(body)).toBe('DPoP');
    const e = await refusal(String(body.access_token));
    expect(e.message).toBe(
      'the access token is bound to a DPoP key and cannot be used as a bearer token',
    );
  });

  it('asks for the scopes the route needs, all of them, in the error', async () => {
    const e = await refusal(await token(), ['notes:read', 'notes:write']);
    expect(e).toMatchObject({
      status: 403,
      error: 'insufficient_scope',
      scope: 'notes:read notes:write',
    });
  });
});

describe('tessera/resource: Tessera rotates its signing keys', () => {
  it('picks up a key it has never seen (unknown kid → the JWKS again) and keeps the old one', async () => {
    const clock = new FrozenClock();
    const tessera = await startServer({ clock });
    try {
      const ctx = tessera.app.tessera;
      const tc = await makeClient(ctx, { grantTypes: ['client_credentials'], scopes: ['a'] });
      const token = async () =>
        String(
          (await postAsClient(tessera.url, '/token', tc, { grant_type: 'client_credentials' })).body
            .access_token,
        );
      const counter = countingFetch('/jwks');
      const verifier = createTokenVerifier({
        issuer: tessera.url,
        resource: tessera.url,
        now: () => clock.now(),
        fetch: counter.fetch,
        jwksCooldown: 0,
      });
      const before = await token();
      await verifier.verify(before);
      expect(counter.count()).toBe(1);
      // Twice: the first promotes the standby key the kit has already downloaded; the second
      // promotes one published after the kit's download.
      await ctx.keys.rotate(['ES256']);
      await ctx.keys.rotate(['ES256']);
      const after = await token();
      const kid = (t: string) =>
        JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid;
      expect(kid(after)).not.toBe(kid(before));
      expect((await verifier.verify(after)).clientId).toBe(tc.client.id);
      expect(counter.count()).toBe(2);
      // The retired key stays published until its tokens expire.
      expect((await verifier.verify(before)).clientId).toBe(tc.client.id);
    } finally {
      await tessera.close();
    }
  });
});

describe('tessera/resource: an issuer with a path', () => {
  it('finds the metadata by RFC 8414 path insertion and checks the tokens of that issuer', async () => {
    const tessera = await startServer({ issuerPath: '/tenant-a' });
    try {
      expect(tessera.url).toMatch(/\/tenant-a$/);
      const tc = await makeClient(tessera.app.tessera, {
        grantTypes: ['client_credentials'],
        scopes: ['a'],
      });
      // Relative to the issuer's path: /tenant-a/token.
      const res = await postAsClient(`${tessera.url}/`, 'token', tc, {
        grant_type: 'client_credentials',
      });
      expect(res.status, res.text).toBe(200);
      const asked: string[] = [];
      const verifier = createTokenVerifier({
        issuer: tessera.url,
        resource: tessera.url,
        fetch: (input, init) => {
          asked.push(String(input));
          return fetch(input, init);
        },
      });
      const info = await verifier.verify(String(res.body.access_token));
      expect(info.extra.claims.iss).toBe(tessera.url);
      expect(asked[0]).toBe(
        `${new URL(tessera.url).origin}/.well-known/oauth-authorization-server/tenant-a`,
      );
      // The issuer without its path is another issuer: its metadata names the path, so it is refused.
      const origin = createTokenVerifier({
        issuer: new URL(tessera.url).origin,
        resource: tessera.url,
      });
      await expect(origin.verify(String(res.body.access_token))).rejects.not.toBeInstanceOf(
        TokenError,
      );
    } finally {
      await tessera.close();
    }
  });
});
