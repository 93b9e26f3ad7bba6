import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';

import { FrozenClock } from '../../src/lib/clock.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  assertionClaims,
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER,
  type KeyedClient,
  type KeyPair,
  keyPair,
  makeKeyedClient,
  signWith,
  unsignedJwt,
} from '../helpers/client-jwt.js';
import { dpopKey, makeProof } from '../helpers/dpop.js';
import { basicAuth, makeClient, makeUser, postForm } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

/**
 * The JWT bearer grant (RFC 7523 §2.1): a service account signs an assertion for itself or for
 * a person it may act for, with or without client authentication (§3.1), and every refusal is
 * invalid_grant naming the problem. SQLite and PostgreSQL: people, tokens and jti markers.
 */
describe.each(storeFactories())('JWT bearer grant on $name', (factory) => {
  let server: RunningServer;
  let ctx: AppContext;
  let opened: TestStore;
  const clock = new FrozenClock();
  beforeAll(async () => {
    opened = await factory.open();
    server = await startServer({ clock, store: opened.store });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server.close();
    await opened.cleanup();
  });

  const now = () => Math.floor(clock.now() / 1000);

  const serviceAccount = (overrides: Partial<Client> = {}, key?: KeyPair) =>
    makeKeyedClient(
      ctx,
      {
        grantTypes: [JWT_BEARER],
        scopes: ['api:read', 'api:write', 'openid', 'profile', 'email', 'offline_access'],
        ...overrides,
      },
      key,
    );

  async function grant(
    tc: KeyedClient,
    claims: Record<string, unknown> = {},
    form: Record<string, string> = {},
    headers: Record<string, string> = {},
  ) {
    const assertion = await signWith(
      tc.key,
      assertionClaims(tc.client.id, server.url, now(), claims),
    );
    return postForm(server.url, '/token', { grant_type: JWT_BEARER, assertion, ...form }, headers);
  }

  function expectInvalidGrant(res: Awaited<ReturnType<typeof postForm>>, description: RegExp) {
    expect(res.status, res.text).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(String(res.body.error_description)).toMatch(description);
  }

  it('a service account acting for itself, without client authentication, gets an access token only', async () => {
    const tc = await serviceAccount();
    const res = await grant(tc);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'api:read api:write',
    });
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.id_token).toBeUndefined();
    const { payload } = await jwtVerify(
      String(res.body.access_token),
      createRemoteJWKSet(new URL(`${server.url}/jwks`)),
      { issuer: server.url, currentDate: new Date(clock.now()) },
    );
    expect(payload).toMatchObject({ sub: tc.client.id, client_id: tc.client.id });
  });

  it('a narrower scope, but no person scope when acting for itself', async () => {
    const tc = await serviceAccount();
    expect((await grant(tc, {}, { scope: 'api:read' })).body.scope).toBe('api:read');
    const personal = await grant(tc, {}, { scope: 'openid api:read' });
    expect(personal.body.error).toBe('invalid_scope');
    const notAllowed = await grant(tc, {}, { scope: 'admin' });
    expect(notAllowed.body.error).toBe('invalid_scope');
  });

  it('acts for a person on its jwt_bearer_subjects list, within its allowed scopes', async () => {
    const { user } = await makeUser(ctx);
    const tc = await serviceAccount({ jwtBearerSubjects: [user.id] });
    const res = await grant(tc, { sub: user.id }, { scope: 'openid email api:read' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('openid email api:read');
    expect(res.body.refresh_token).toBeUndefined();
    // The token is the person's: /userinfo answers for them.
    const info = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${res.body.access_token}` },
    });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ sub: user.id, email: user.email });
    const offline = await grant(tc, { sub: user.id }, { scope: 'offline_access' });
    expect(offline.body.error).toBe('invalid_scope');
    const tooWide = await grant(tc, { sub: user.id }, { scope: 'phone' });
    expect(tooWide.body.error).toBe('invalid_scope');
  });

  it('refuses a person not on the list, an unknown one and a deleted one', async () => {
    const { user } = await makeUser(ctx);
    const { user: listed } = await makeUser(ctx);
    const tc = await serviceAccount({ jwtBearerSubjects: [listed.id, 'no-such-user'] });
    expectInvalidGrant(await grant(tc, { sub: user.id }), /may not act for .* jwt_bearer_subjects/);
    expectInvalidGrant(await grant(tc, { sub: 'no-such-user' }), /does not exist/);
    expect((await grant(tc, { sub: listed.id })).status).toBe(200);
    await ctx.store.users.delete(listed.id);
    expectInvalidGrant(await grant(tc, { sub: listed.id }), /does not exist/);
  });

  it('refuses replay, wrong aud, expiry, not-yet-valid, missing claims, unknown key and bad signature', async () => {
    const tc = await serviceAccount();
    const t = now();
    const assertion = await signWith(tc.key, assertionClaims(tc.client.id, server.url, t));
    const form = { grant_type: JWT_BEARER, assertion };
    expect((await postForm(server.url, '/token', form)).status).toBe(200);
    expectInvalidGrant(await postForm(server.url, '/token', form), /used before \(its jti/);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ aud: 'https://other.example/token' }, /another audience/],
      [{ aud: `${server.url}/introspect` }, /another audience/],
      [{ exp: t - 1 }, /has expired/],
      [{ exp: t + 3600 }, /expires too far ahead/],
      [{ nbf: t + 600 }, /not yet valid \(nbf/],
      [{ iat: t + 600 }, /not yet valid \(iat/],
      [{ jti: undefined }, /no jti/],
      [{ exp: undefined }, /no exp/],
      [{ sub: undefined }, /no sub/],
    ];
    for (const [claims, description] of cases) {
      expectInvalidGrant(await grant(tc, claims), description);
    }
    const stranger = await keyPair();
    expectInvalidGrant(
      await grant({ ...tc, key: stranger }),
      /names a key the client has not registered \(kid/,
    );
    expectInvalidGrant(
      await grant({ ...tc, key: { ...stranger, kid: tc.key.kid } }),
      /signature of the assertion does not verify/,
    );
    expectInvalidGrant(
      await postForm(server.url, '/token', {
        grant_type: JWT_BEARER,
        assertion: unsignedJwt(assertionClaims(tc.client.id, server.url, t)),
      }),
      /unsigned \(alg "none"\)/,
    );
    expectInvalidGrant(
      await postForm(server.url, '/token', { grant_type: JWT_BEARER, assertion: 'x.y.z' }),
      /not a signed JWT/,
    );
    expectInvalidGrant(await grant(tc, { iss: undefined }), /no iss/);
    expectInvalidGrant(await grant(tc, { iss: 'nobody' }), /iss is not a registered client/);
    const missing = await postForm(server.url, '/token', { grant_type: JWT_BEARER });
    expect(missing.body.error).toBe('invalid_request');
  });

  it('an HS256 assertion keyed with the public key is refused', async () => {
    const tc = await serviceAccount({}, await keyPair('RS256'));
    const material = new TextEncoder().encode(JSON.stringify(tc.key.publicJwk));
    const res = await postForm(server.url, '/token', {
      grant_type: JWT_BEARER,
      assertion: await signWith(material, assertionClaims(tc.client.id, server.url, now())),
    });
    expectInvalidGrant(res, /signed with HS256: this client signs with its registered public keys/);
  });

  it('keeps to the registered token_endpoint_auth_signing_alg, and lets the assertion alone authenticate only a private_key_jwt client', async () => {
    const pinned = await serviceAccount(
      { tokenEndpointAuthSigningAlg: 'ES256' },
      await keyPair('RS256'),
    );
    expectInvalidGrant(await grant(pinned), /signed with RS256: this client registered ES256/);
    const basic = await serviceAccount({ tokenEndpointAuthMethod: 'client_secret_basic' });
    const res = await grant(basic);
    expect(res.status, res.text).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(String(res.body.error_description)).toMatch(/registered for client_secret_basic/);
  });

  it('with client authentication, the assertion must come from that same client', async () => {
    const tc = await serviceAccount();
    const other = await serviceAccount();
    const clientAssertion = (c: KeyedClient) =>
      signWith(c.key, assertionClaims(c.client.id, server.url, now()));
    const ok = await grant(
      tc,
      {},
      { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion(tc) },
    );
    expect(ok.status, ok.text).toBe(200);
    const mixed = await grant(
      other,
      {},
      { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion(tc) },
    );
    expectInvalidGrant(mixed, /iss is not the authenticated client/);
    // A bare client_id proves nothing: it may come along, but must name the assertion's issuer.
    expect((await grant(tc, {}, { client_id: tc.client.id })).status).toBe(200);
    expectInvalidGrant(
      await grant(tc, {}, { client_id: other.client.id }),
      /client_id is not the iss of the assertion/,
    );
    // Bad client credentials are a client authentication failure, not a grant one.
    const bad = await grant(tc, {}, { client_id: tc.client.id, client_secret: 'wrong' });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('invalid_client');
  });

  it('with a DPoP proof, the token is bound to its key (RFC 9449)', async () => {
    const tc = await serviceAccount();
    const key = await dpopKey();
    const proof = await makeProof(key, { htu: `${server.url}/token`, iat: now() });
    const res = await grant(tc, {}, {}, { dpop: proof });
    expect(res.status, res.text).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(res.body.access_token)).cnf).toEqual({ jkt: key.jkt });
  });

  it('a client not allowed the grant is refused, even when its assertion is good', async () => {
    const tc = await makeKeyedClient(ctx, { grantTypes: ['client_credentials'] });
    const res = await grant(tc);
    expect(res.body.error).toBe('unauthorized_client');
    const secretOnly = await makeClient(ctx, { grantTypes: ['client_credentials'] });
    const viaBasic = await postForm(
      server.url,
      '/token',
      { grant_type: JWT_BEARER, assertion: 'a.b.c' },
      { authorization: basicAuth(secretOnly.client.id, secretOnly.secret!) },
    );
    expect(viaBasic.body.error).toBe('unauthorized_client');
  });
});
