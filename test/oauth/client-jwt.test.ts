import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  assertionClaims,
  CLIENT_ASSERTION_TYPE,
  type KeyedClient,
  keyPair,
  makeKeyedClient,
  signWith,
  unsignedJwt,
} from '../helpers/client-jwt.js';
import { DEVICE_GRANT } from '../helpers/device.js';
import { basicAuth, makeClient, postForm } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

/**
 * Client authentication with JWTs (RFC 7523 §2.2, OpenID Connect Core §9): private_key_jwt and
 * client_secret_jwt at /token, /revoke, /introspect, /par and /device_authorization, and every
 * way an assertion is refused, over real HTTP, on SQLite and PostgreSQL (the jti markers are
 * stored).
 */
describe.each(storeFactories())('client assertions on $name', (factory) => {
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

  async function withAssertion(
    path: string,
    assertion: string,
    form: Record<string, string> = { grant_type: 'client_credentials' },
    headers: Record<string, string> = {},
  ) {
    return postForm(
      server.url,
      path,
      { ...form, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion },
      headers,
    );
  }

  async function goodAssertion(tc: KeyedClient, extra = {}) {
    return signWith(tc.key, assertionClaims(tc.client.id, server.url, now(), extra));
  }

  function expectRefused(
    res: Awaited<ReturnType<typeof postForm>>,
    description: RegExp,
    error = 'invalid_client',
  ) {
    expect(res.status, res.text).toBe(error === 'invalid_client' ? 401 : 400);
    expect(res.body.error).toBe(error);
    expect(String(res.body.error_description)).toMatch(description);
  }

  describe('private_key_jwt', () => {
    it('authenticates a client_credentials request with an ES256 assertion', async () => {
      const tc = await makeKeyedClient(ctx);
      const res = await withAssertion('/token', await goodAssertion(tc));
      expect(res.status, res.text).toBe(200);
      expect(res.body.scope).toBe('api:read api:write');
    });

    it.each(['RS256', 'PS384', 'ES384', 'ES512', 'EdDSA'])('accepts %s', async (alg) => {
      const tc = await makeKeyedClient(ctx, {}, await keyPair(alg));
      const res = await withAssertion('/token', await goodAssertion(tc));
      expect(res.status, res.text).toBe(200);
    });

    it('accepts as aud the issuer, the token endpoint, or the endpoint receiving it', async () => {
      const tc = await makeKeyedClient(ctx);
      for (const aud of [server.url, `${server.url}/token`, [`${server.url}/token`, server.url]]) {
        const res = await withAssertion('/token', await goodAssertion(tc, { aud }));
        expect(res.status, `${aud}: ${res.text}`).toBe(200);
      }
      const token = (await withAssertion('/token', await goodAssertion(tc))).body.access_token;
      const introspected = await withAssertion(
        '/introspect',
        await goodAssertion(tc, { aud: `${server.url}/introspect` }),
        { token: String(token) },
      );
      expect(introspected.status, introspected.text).toBe(200);
      expect(introspected.body.active).toBe(true);
      const revoked = await withAssertion(
        '/revoke',
        await goodAssertion(tc, { aud: `${server.url}/revoke` }),
        { token: String(token) },
      );
      expect(revoked.status, revoked.text).toBe(200);
      const after = await withAssertion('/introspect', await goodAssertion(tc), {
        token: String(token),
      });
      expect(after.body.active).toBe(false);
    });

    it('authenticates at /par too, with the PAR endpoint as aud', async () => {
      const tc = await makeKeyedClient(ctx, {
        grantTypes: ['authorization_code'],
        redirectUris: ['https://app.example.com/callback'],
      });
      const res = await withAssertion(
        '/par',
        await goodAssertion(tc, { aud: `${server.url}/par` }),
        {
          // The authorization request's own parameters, client_id among them (RFC 9126 §2.1).
          client_id: tc.client.id,
          response_type: 'code',
          redirect_uri: 'https://app.example.com/callback',
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        },
      );
      expect(res.status, res.text).toBe(201);
      expect(String(res.body.request_uri)).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    });

    it('authenticates at /device_authorization too, and refuses the same assertion again', async () => {
      const tc = await makeKeyedClient(ctx, { grantTypes: [DEVICE_GRANT] });
      const assertion = await goodAssertion(tc, { aud: `${server.url}/device_authorization` });
      const res = await withAssertion('/device_authorization', assertion, { scope: 'openid' });
      expect(res.status, res.text).toBe(200);
      expect(String(res.body.device_code)).toMatch(/^[\w-]{43}$/);
      expect(String(res.body.user_code)).toMatch(/^[B-Z]{4}-[B-Z]{4}$/);
      // The device code is this client's: it polls with a fresh assertion and is told to wait.
      const poll = await withAssertion('/token', await goodAssertion(tc), {
        grant_type: DEVICE_GRANT,
        device_code: String(res.body.device_code),
      });
      expect(poll.status, poll.text).toBe(400);
      expect(poll.body.error).toBe('authorization_pending');
      // The same assertion (same jti) a second time is a replay.
      const replay = await withAssertion('/device_authorization', assertion, { scope: 'openid' });
      expectRefused(replay, /used before \(its jti/);
      expect(replay.body.device_code).toBeUndefined();
    });

    it('refuses an aud naming another endpoint or another server', async () => {
      const tc = await makeKeyedClient(ctx);
      for (const aud of [
        `${server.url}/introspect`,
        'https://elsewhere.example',
        `${server.url}/`,
      ]) {
        const res = await withAssertion('/token', await goodAssertion(tc, { aud }));
        expectRefused(res, /another audience: aud must be one of/);
      }
      expectRefused(
        await withAssertion('/token', await goodAssertion(tc, { aud: undefined })),
        /no aud/,
      );
      // Audience injection: our name beside another server's is refused (RFC 7523bis).
      expectRefused(
        await withAssertion(
          '/token',
          await goodAssertion(tc, { aud: [`${server.url}/token`, 'https://evil.example'] }),
        ),
        /names other audiences besides this server/,
      );
    });

    it('refuses a replayed assertion (same jti), at any endpoint', async () => {
      const tc = await makeKeyedClient(ctx);
      const assertion = await goodAssertion(tc, { aud: server.url });
      expect((await withAssertion('/token', assertion)).status).toBe(200);
      expectRefused(await withAssertion('/token', assertion), /used before \(its jti/);
      expectRefused(await withAssertion('/introspect', assertion, { token: 'x' }), /used before/);
      // A new assertion with the same jti is a replay too.
      const jti = 'reused-jti';
      expect((await withAssertion('/token', await goodAssertion(tc, { jti }))).status).toBe(200);
      expectRefused(await withAssertion('/token', await goodAssertion(tc, { jti })), /used before/);
    });

    it('ten concurrent uses of one assertion: exactly one is accepted', async () => {
      const tc = await makeKeyedClient(ctx);
      const assertion = await goodAssertion(tc);
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => withAssertion('/token', assertion)),
      );
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    });

    it('refuses missing or bad times: exp, too far ahead, expired, nbf and iat in the future', async () => {
      const tc = await makeKeyedClient(ctx);
      const t = now();
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ exp: undefined }, /no exp: it is required/],
        [{ exp: t + 3600 }, /expires too far ahead: exp may be at most 300 seconds/],
        [{ exp: t - 1 }, /has expired/],
        [{ nbf: t + 120 }, /not yet valid \(nbf is in the future\)/],
        [{ iat: t + 120 }, /not yet valid \(iat is in the future\)/],
        [{ jti: undefined }, /no jti: it is required/],
      ];
      for (const [extra, description] of cases) {
        expectRefused(await withAssertion('/token', await goodAssertion(tc, extra)), description);
      }
      // Within the skew of clocks, iat a little ahead is fine.
      expect((await withAssertion('/token', await goodAssertion(tc, { iat: t + 5 }))).status).toBe(
        200,
      );
    });

    it('refuses alg none', async () => {
      const tc = await makeKeyedClient(ctx);
      const res = await withAssertion(
        '/token',
        unsignedJwt(assertionClaims(tc.client.id, server.url, now())),
      );
      expectRefused(res, /unsigned \(alg "none"\)/);
    });

    it('refuses HS256 signed with the client’s public key material (alg confusion)', async () => {
      const tc = await makeKeyedClient(ctx, {}, await keyPair('RS256'));
      const material = new TextEncoder().encode(JSON.stringify(tc.key.publicJwk));
      const res = await withAssertion(
        '/token',
        await signWith(material, assertionClaims(tc.client.id, server.url, now())),
      );
      expectRefused(res, /must authenticate with a JWT signed with its registered private key/);
    });

    it('refuses an unknown kid and a signature by another key', async () => {
      const tc = await makeKeyedClient(ctx);
      const other = await keyPair();
      const claims = assertionClaims(tc.client.id, server.url, now());
      expectRefused(
        await withAssertion('/token', await signWith(other, claims)),
        /names a key the client has not registered \(kid/,
      );
      expectRefused(
        await withAssertion(
          '/token',
          await signWith({ ...other, kid: tc.key.kid }, { ...claims, jti: 'x1' }),
        ),
        /signature of client_assertion does not verify/,
      );
    });

    it('refuses iss or sub other than the client, and a body client_id of another client', async () => {
      const tc = await makeKeyedClient(ctx);
      const other = await makeKeyedClient(ctx);
      const t = now();
      expectRefused(
        await withAssertion(
          '/token',
          await signWith(tc.key, assertionClaims(tc.client.id, server.url, t, { iss: 'someone' })),
        ),
        /iss and sub both equal to the client_id/,
      );
      expectRefused(
        await withAssertion(
          '/token',
          await signWith(tc.key, assertionClaims(tc.client.id, server.url, t, { sub: undefined })),
        ),
        /no sub/,
      );
      expectRefused(
        await withAssertion('/token', await goodAssertion(tc), {
          grant_type: 'client_credentials',
          client_id: other.client.id,
        }),
        /client_id in the body is not the sub/,
      );
      // Signed by one client's key in the name of another: the other's keys do not verify it.
      expectRefused(
        await withAssertion(
          '/token',
          await signWith(tc.key, assertionClaims(other.client.id, server.url, t)),
        ),
        /not registered|does not verify/,
      );
    });

    it('refuses a wrong or missing client_assertion_type, and a garbage assertion', async () => {
      const tc = await makeKeyedClient(ctx);
      const assertion = await goodAssertion(tc);
      const wrongType = await postForm(server.url, '/token', {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        client_assertion: assertion,
      });
      expectRefused(wrongType, /client_assertion_type .* is not supported/);
      const noType = await postForm(server.url, '/token', {
        grant_type: 'client_credentials',
        client_assertion: assertion,
      });
      expectRefused(noType, /client_assertion_type is required/);
      expectRefused(await withAssertion('/token', 'a.b.c'), /not a signed JWT/);
    });

    it('allows only the registered method: no Basic secret, no other method in the other direction', async () => {
      const tc = await makeKeyedClient(ctx);
      const basic = await postForm(
        server.url,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basicAuth(tc.client.id, 'anything') },
      );
      expectRefused(basic, /must authenticate with a JWT signed with its registered private key/);
      // A client_secret_basic client with keys still may not use them.
      const key = await keyPair();
      const secretClient = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
        jwks: { keys: [key.publicJwk as Record<string, unknown>] },
      });
      const res = await withAssertion(
        '/token',
        await signWith(key, assertionClaims(secretClient.client.id, server.url, now())),
      );
      expectRefused(res, /must authenticate with its secret in HTTP Basic credentials/);
      // Both an assertion and Basic credentials: one method only.
      const both = await withAssertion(
        '/token',
        await goodAssertion(tc),
        { grant_type: 'client_credentials' },
        { authorization: basicAuth(tc.client.id, 'x') },
      );
      expectRefused(both, /use one client authentication method/, 'invalid_request');
    });

    it('holds the client to its token_endpoint_auth_signing_alg', async () => {
      const key = await keyPair('ES256');
      const tc = await makeKeyedClient(ctx, { tokenEndpointAuthSigningAlg: 'ES256' }, key);
      expect((await withAssertion('/token', await goodAssertion(tc))).status).toBe(200);
      const rsa = await keyPair('RS256');
      const both = await makeKeyedClient(
        ctx,
        {
          tokenEndpointAuthSigningAlg: 'ES256',
          jwks: { keys: [key.publicJwk, rsa.publicJwk] as Record<string, unknown>[] },
        },
        rsa,
      );
      expectRefused(
        await withAssertion('/token', await goodAssertion(both)),
        /signed with RS256: this client registered ES256/,
      );
    });

    it('sees a change of keys at once: the old key stops working when the client is updated', async () => {
      const tc = await makeKeyedClient(ctx);
      expect((await withAssertion('/token', await goodAssertion(tc))).status).toBe(200);
      const next = await keyPair();
      await ctx.store.clients.update(tc.client.id, { jwks: { keys: [next.publicJwk] } }, now());
      ctx.clients.invalidate(tc.client.id);
      expectRefused(await withAssertion('/token', await goodAssertion(tc)), /not registered/);
      const res = await withAssertion('/token', await goodAssertion({ ...tc, key: next }));
      expect(res.status, res.text).toBe(200);
    });
  });

  describe('client_secret_jwt', () => {
    const secretClient = () =>
      makeClient(ctx, {
        tokenEndpointAuthMethod: 'client_secret_jwt',
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
      });
    const hmac = (secret: string) => new TextEncoder().encode(secret);

    it('authenticates with an HMAC of the secret (HS256, HS384, HS512)', async () => {
      const tc = await secretClient();
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const res = await withAssertion(
          '/token',
          await signWith(hmac(tc.secret!), assertionClaims(tc.client.id, server.url, now()), {
            alg,
          }),
        );
        expect(res.status, `${alg}: ${res.text}`).toBe(200);
      }
    });

    it('authenticates at /device_authorization, with the endpoint or the issuer as aud', async () => {
      const tc = await makeClient(ctx, {
        tokenEndpointAuthMethod: 'client_secret_jwt',
        grantTypes: [DEVICE_GRANT],
        scopes: ['openid', 'profile'],
      });
      for (const aud of [`${server.url}/device_authorization`, server.url]) {
        const res = await withAssertion(
          '/device_authorization',
          await signWith(
            hmac(tc.secret!),
            assertionClaims(tc.client.id, server.url, now(), { aud }),
          ),
          { scope: 'openid profile' },
        );
        expect(res.status, `${aud}: ${res.text}`).toBe(200);
        expect(String(res.body.device_code)).toMatch(/^[\w-]{43}$/);
      }
      // An HMAC with another secret is refused there as at /token.
      expectRefused(
        await withAssertion(
          '/device_authorization',
          await signWith(hmac('not-the-secret'), assertionClaims(tc.client.id, server.url, now())),
          { scope: 'openid' },
        ),
        /does not verify/,
      );
    });

    it('refuses an HMAC with another secret, a replay, and an asymmetric signature', async () => {
      const tc = await secretClient();
      const claims = assertionClaims(tc.client.id, server.url, now());
      expectRefused(
        await withAssertion('/token', await signWith(hmac('not-the-secret'), claims)),
        /does not verify/,
      );
      const good = await signWith(hmac(tc.secret!), { ...claims, jti: 'one' });
      expect((await withAssertion('/token', good)).status).toBe(200);
      expectRefused(await withAssertion('/token', good), /used before/);
      const key = await keyPair();
      expectRefused(
        await withAssertion('/token', await signWith(key, { ...claims, jti: 'two' })),
        /must authenticate with a JWT signed with its secret \(client_secret_jwt\)/,
      );
      // Nor may it send the secret itself.
      const post = await postForm(server.url, '/token', {
        grant_type: 'client_credentials',
        client_id: tc.client.id,
        client_secret: tc.secret!,
      });
      expectRefused(post, /client_secret_jwt/);
    });
  });

  it('discovery lists the methods and the assertion algorithms', async () => {
    const meta = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, string[]>;
    for (const field of [
      'token_endpoint_auth_methods_supported',
      'revocation_endpoint_auth_methods_supported',
      'introspection_endpoint_auth_methods_supported',
    ]) {
      expect(meta[field]).toEqual(expect.arrayContaining(['private_key_jwt', 'client_secret_jwt']));
    }
    for (const field of [
      'token_endpoint_auth_signing_alg_values_supported',
      'revocation_endpoint_auth_signing_alg_values_supported',
      'introspection_endpoint_auth_signing_alg_values_supported',
    ]) {
      expect(meta[field]).toEqual(expect.arrayContaining(['ES256', 'RS256', 'EdDSA', 'HS256']));
      expect(meta[field]).not.toContain('none');
    }
    expect(meta.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:jwt-bearer');
  });
});
