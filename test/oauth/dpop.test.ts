import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, generateSecret, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { jwkThumbprint, normaliseHtu } from '../../src/oauth/dpop.js';
import { currentDpopNonce } from '../../src/oauth/dpop-nonce.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { type DpopKey, dpopKey, makeProof, unsignedProof } from '../helpers/dpop.js';
import {
  authorizeAndConsent,
  authorizePath,
  clientAuth,
  expectOAuthError,
  type HttpAnswer,
  introspect,
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postForm,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {}
  return { status: res.status, headers: res.headers, body, text };
}

/** POSTs to /token as `tc`, with these DPoP headers (none when empty). */
function tokenRequest(
  server: RunningServer,
  tc: TestClient,
  form: Record<string, string | undefined>,
  proofs: string[] = [],
): Promise<HttpAnswer> {
  const auth = clientAuth(tc);
  const headers = new Headers(auth.headers);
  for (const proof of proofs) headers.append('dpop', proof);
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...auth.form, ...form }))
    if (v !== undefined) body.set(k, v);
  return fetch(`${server.url}/token`, { method: 'POST', headers, body }).then(answer);
}

/** GET /userinfo with `Authorization: <scheme> <token>` and these DPoP headers. */
function userinfoRequest(
  server: RunningServer,
  scheme: string,
  token: string,
  proof?: string,
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { authorization: `${scheme} ${token}` };
  if (proof) headers.dpop = proof;
  return fetch(`${server.url}/userinfo`, { headers }).then(answer);
}

interface Json {
  [name: string]: unknown;
  client_id?: string;
  dpop_signing_alg_values_supported?: string[];
}
const readJson = (r: Response) => r.json() as Promise<Json>;

function expectDpopError(res: HttpAnswer, status: number, error: string, description?: RegExp) {
  expectOAuthError(res, status, error);
  if (description) expect(res.body.error_description).toMatch(description);
}

describe('DPoP helpers', () => {
  it('computes RFC 7638 thumbprints as jose does, for EC, RSA and OKP keys', async () => {
    for (const alg of ['ES256', 'PS256', 'EdDSA']) {
      const key = await dpopKey(alg);
      expect(jwkThumbprint(key.jwk as Record<string, unknown>)).toBe(
        await calculateJwkThumbprint(key.jwk, 'sha256'),
      );
    }
  });

  it('normalises htu as RFC 3986 §6.2.2 and §6.2.3 say, without query and fragment', () => {
    const base = normaliseHtu('https://id.example.com/token');
    expect(normaliseHtu('HTTPS://ID.Example.COM:443/token?x=1#f')).toBe(base);
    expect(normaliseHtu('https://id.example.com/%74oken')).toBe(base);
    expect(normaliseHtu('https://id.example.com/a/../token')).toBe(base);
    expect(normaliseHtu('https://id.example.com/token/')).toBe(base);
    expect(normaliseHtu('https://id.example.com:8443/token')).not.toBe(base);
    expect(normaliseHtu('http://id.example.com/token')).not.toBe(base);
    expect(normaliseHtu('https://id.example.com/tokens')).not.toBe(base);
    expect(normaliseHtu('not a url')).toBeUndefined();
  });
});

for (const factory of storeFactories()) {
  describe(`DPoP (RFC 9449) over HTTP (${factory.name})`, () => {
    let db: TestStore;
    let server: RunningServer;
    let ctx: AppContext;
    let tokenUrl: string;
    let userinfoUrl: string;
    beforeAll(async () => {
      db = await factory.open();
      server = await startServer({ store: db.store });
      ctx = server.app.tessera;
      tokenUrl = `${server.url}/token`;
      userinfoUrl = `${server.url}/userinfo`;
    });
    afterAll(async () => {
      await server.close();
      await db.cleanup();
    });

    const service = (overrides: Partial<Client> = {}) =>
      makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
        ...overrides,
      });
    const cc = (tc: TestClient, proofs: string[] = []) =>
      tokenRequest(server, tc, { grant_type: 'client_credentials' }, proofs);

    /** A code for a fresh person, with PKCE; `extra` goes to /authorize. */
    async function code(tc: TestClient, extra: Record<string, string> = {}) {
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      const { verifier, challenge } = pkce();
      const value = await obtainCode(browser, tc.client, {
        scope: 'openid profile offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      });
      return { code: value, verifier, user };
    }
    const exchange = (tc: TestClient, c: { code: string; verifier: string }, proofs: string[]) =>
      tokenRequest(
        server,
        tc,
        {
          grant_type: 'authorization_code',
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: REDIRECT_URI,
        },
        proofs,
      );
    const refreshWith = (tc: TestClient, token: string, proofs: string[]) =>
      tokenRequest(server, tc, { grant_type: 'refresh_token', refresh_token: token }, proofs);

    describe('the token endpoint', () => {
      it('binds the access token to the proof key: token_type DPoP, cnf.jkt, introspection says so', async () => {
        const tc = await service({ resourceServer: true });
        const key = await dpopKey();
        const res = await cc(tc, [await makeProof(key, { htu: tokenUrl })]);
        expect(res.status, res.text).toBe(200);
        expect(res.body.token_type).toBe('DPoP');
        const claims = decodeJwt(String(res.body.access_token));
        expect(claims.cnf).toEqual({ jkt: key.jkt });
        const seen = await introspect(server.url, tc, String(res.body.access_token));
        expect(seen.body).toMatchObject({
          active: true,
          token_type: 'DPoP',
          cnf: { jkt: key.jkt },
        });
      });

      it('gives a Bearer token without cnf to a request without a proof', async () => {
        const tc = await service();
        const res = await cc(tc);
        expect(res.body.token_type).toBe('Bearer');
        expect(decodeJwt(String(res.body.access_token)).cnf).toBeUndefined();
        const seen = await introspect(server.url, tc, String(res.body.access_token));
        expect(seen.body.token_type).toBe('Bearer');
        expect(seen.body.cnf).toBeUndefined();
      });

      it('accepts the supported asymmetric algorithms: ES256, ES384, PS256, RS256, EdDSA, Ed25519', async () => {
        const tc = await service();
        for (const alg of ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519']) {
          const key = await dpopKey(alg);
          const res = await cc(tc, [await makeProof(key, { htu: tokenUrl })]);
          expect(res.status, `${alg}: ${res.text}`).toBe(200);
          expect(decodeJwt(String(res.body.access_token)).cnf).toEqual({ jkt: key.jkt });
        }
      });

      it('accepts an htu that differs only by what normalisation removes (case, default port, query)', async () => {
        const tc = await service();
        const key = await dpopKey();
        const url = new URL(tokenUrl);
        const htu = `HTTP://${url.host.toUpperCase()}/token?x=1#frag`;
        const res = await cc(tc, [await makeProof(key, { htu })]);
        expect(res.status, res.text).toBe(200);
      });

      describe('refuses a proof that fails a check of RFC 9449 §4.3 with invalid_dpop_proof', () => {
        let tc: TestClient;
        let key: DpopKey;
        beforeAll(async () => {
          tc = await service();
          key = await dpopKey();
        });
        const now = () => Math.floor(Date.now() / 1000);
        const cases: [string, () => Promise<string[]>, RegExp][] = [
          [
            'a typ other than dpop+jwt',
            async () => [await makeProof(key, { htu: tokenUrl, header: { typ: 'JWT' } })],
            /typ/,
          ],
          ['alg none', async () => [unsignedProof(key, { htu: tokenUrl })], /asymmetric/],
          [
            'alg HS256',
            async () => {
              const secret = await generateSecret('HS256');
              const proof = await new SignJWT({ htm: 'POST', htu: tokenUrl, iat: now(), jti: 'x1' })
                .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.jwk })
                .sign(secret);
              return [proof];
            },
            /asymmetric/,
          ],
          [
            'an algorithm that is not supported',
            async () => [unsignedProof(key, { htu: tokenUrl }, 'ES256K')],
            /not supported/,
          ],
          [
            'no jwk',
            async () => [await makeProof(key, { htu: tokenUrl, header: { jwk: undefined } })],
            /jwk/,
          ],
          [
            'a private key in the jwk',
            async () => {
              const { exportJWK } = await import('jose');
              const priv = await exportJWK(key.privateKey);
              return [await makeProof(key, { htu: tokenUrl, header: { jwk: priv } })];
            },
            /private/,
          ],
          [
            'a signature by another key than the jwk',
            async () => {
              const other = await dpopKey();
              return [await makeProof(key, { htu: tokenUrl, signWith: other.privateKey })];
            },
            /signature/,
          ],
          [
            'htm GET on a POST',
            async () => [await makeProof(key, { htu: tokenUrl, htm: 'GET' })],
            /htm/,
          ],
          [
            'htu of another endpoint',
            async () => [await makeProof(key, { htu: `${server.url}/revoke` })],
            /htu/,
          ],
          [
            'htu of another server',
            async () => [await makeProof(key, { htu: 'https://evil.example/token' })],
            /htu/,
          ],
          [
            'iat too old',
            async () => [await makeProof(key, { htu: tokenUrl, iat: now() - 120 })],
            /too old/,
          ],
          [
            'iat in the future',
            async () => [await makeProof(key, { htu: tokenUrl, iat: now() + 60 })],
            /future/,
          ],
          [
            'no jti',
            async () => [await makeProof(key, { htu: tokenUrl, claims: { jti: undefined } })],
            /jti/,
          ],
          [
            'no htu',
            async () => [await makeProof(key, { htu: tokenUrl, claims: { htu: undefined } })],
            /htu/,
          ],
          [
            'no iat',
            async () => [await makeProof(key, { htu: tokenUrl, claims: { iat: 'yesterday' } })],
            /iat/,
          ],
          ['a header that is not a JWT', async () => ['not-a-jwt'], /not a JWT/],
          [
            'two DPoP headers',
            async () => [
              await makeProof(key, { htu: tokenUrl }),
              await makeProof(key, { htu: tokenUrl }),
            ],
            /exactly one/,
          ],
        ];
        it.each(cases)('%s', async (_name, proofs, description) => {
          const res = await cc(tc, await proofs());
          expectDpopError(res, 400, 'invalid_dpop_proof', description);
          expect(res.body.access_token).toBeUndefined();
        });

        it('a replayed jti, accepted once', async () => {
          const proof = await makeProof(key, { htu: tokenUrl });
          expect((await cc(tc, [proof])).status).toBe(200);
          expectDpopError(await cc(tc, [proof]), 400, 'invalid_dpop_proof', /used before/);
          // The same jti from another key is another proof.
          const other = await dpopKey();
          const jti = String(decodeJwt(proof).jti);
          expect((await cc(tc, [await makeProof(other, { htu: tokenUrl, jti })])).status).toBe(200);
        });
      });

      it('refuses a client registered with dpop_bound_access_tokens that sends no proof (invalid_request)', async () => {
        const tc = await service({ dpopBoundAccessTokens: true });
        expectDpopError(await cc(tc), 400, 'invalid_request', /DPoP proof/);
        const res = await cc(tc, [await makeProof(await dpopKey(), { htu: tokenUrl })]);
        expect(res.body.token_type).toBe('DPoP');
      });

      it('checks the proof before the grant runs: a bad proof does not spend the code', async () => {
        const tc = await makeClient(ctx);
        const key = await dpopKey();
        const c = await code(tc);
        const bad = await exchange(tc, c, [await makeProof(key, { htu: tokenUrl, htm: 'PUT' })]);
        expectDpopError(bad, 400, 'invalid_dpop_proof');
        const good = await exchange(tc, c, [await makeProof(key, { htu: tokenUrl })]);
        expect(good.status, good.text).toBe(200);
        expect(good.body.token_type).toBe('DPoP');
      });
    });

    describe('refresh tokens (RFC 9449 §5)', () => {
      it("binds a public client's refresh token to its key: another key or none is refused, and nothing is spent", async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const key = await dpopKey();
        const first = await exchange(tc, await code(tc), [await makeProof(key, { htu: tokenUrl })]);
        expect(first.status, first.text).toBe(200);
        const rt = String(first.body.refresh_token);
        const other = await dpopKey();
        expectDpopError(
          await refreshWith(tc, rt, [await makeProof(other, { htu: tokenUrl })]),
          400,
          'invalid_grant',
          /another DPoP key/,
        );
        expectDpopError(
          await refreshWith(tc, rt, []),
          400,
          'invalid_dpop_proof',
          /bound to a DPoP key/,
        );
        const next = await refreshWith(tc, rt, [await makeProof(key, { htu: tokenUrl })]);
        expect(next.status, next.text).toBe(200);
        expect(next.body.token_type).toBe('DPoP');
        expect(decodeJwt(String(next.body.access_token)).cnf).toEqual({ jkt: key.jkt });
        // The successor is bound too.
        expectDpopError(
          await refreshWith(tc, String(next.body.refresh_token), []),
          400,
          'invalid_dpop_proof',
        );
      });

      it("binds a public client's unbound refresh token to the key of the first proof it is refreshed with", async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const first = await exchange(tc, await code(tc), []);
        expect(first.body.token_type).toBe('Bearer');
        const key = await dpopKey();
        const next = await refreshWith(tc, String(first.body.refresh_token), [
          await makeProof(key, { htu: tokenUrl }),
        ]);
        expect(next.body.token_type).toBe('DPoP');
        expectDpopError(
          await refreshWith(tc, String(next.body.refresh_token), []),
          400,
          'invalid_dpop_proof',
        );
      });

      it("leaves a confidential client's refresh token unbound, and binds each new access token to the proof sent with the refresh", async () => {
        const tc = await makeClient(ctx, { resourceServer: true });
        const key = await dpopKey();
        const first = await exchange(tc, await code(tc), [await makeProof(key, { htu: tokenUrl })]);
        expect(first.body.token_type).toBe('DPoP');
        const plain = await refreshWith(tc, String(first.body.refresh_token), []);
        expect(plain.status, plain.text).toBe(200);
        expect(plain.body.token_type).toBe('Bearer');
        const other = await dpopKey();
        const rebound = await refreshWith(tc, String(plain.body.refresh_token), [
          await makeProof(other, { htu: tokenUrl }),
        ]);
        expect(rebound.body.token_type).toBe('DPoP');
        expect(decodeJwt(String(rebound.body.access_token)).cnf).toEqual({ jkt: other.jkt });
      });
    });

    describe('dpop_jkt (RFC 9449 §10)', () => {
      it('binds the code to the key: another key or none is refused with invalid_grant, the right one works', async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const key = await dpopKey();
        const other = await dpopKey();
        const wrong = await exchange(tc, await code(tc, { dpop_jkt: key.jkt }), [
          await makeProof(other, { htu: tokenUrl }),
        ]);
        expectDpopError(wrong, 400, 'invalid_grant', /dpop_jkt/);
        const none = await exchange(tc, await code(tc, { dpop_jkt: key.jkt }), []);
        expectDpopError(none, 400, 'invalid_grant', /dpop_jkt/);
        const right = await exchange(tc, await code(tc, { dpop_jkt: key.jkt }), [
          await makeProof(key, { htu: tokenUrl }),
        ]);
        expect(right.status, right.text).toBe(200);
        expect(right.body.token_type).toBe('DPoP');
      });

      it('spends the code when the key does not match: it cannot be tried again', async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const key = await dpopKey();
        const c = await code(tc, { dpop_jkt: key.jkt });
        const wrong = await exchange(tc, c, [await makeProof(await dpopKey(), { htu: tokenUrl })]);
        expectDpopError(wrong, 400, 'invalid_grant');
        const again = await exchange(tc, c, [await makeProof(key, { htu: tokenUrl })]);
        expectDpopError(again, 400, 'invalid_grant', /already been used/);
      });

      it('refuses a dpop_jkt that is not a thumbprint, back at the redirect URI', async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const { user } = await makeUser(ctx);
        const browser = new Browser(server.url);
        await signInBrowser(ctx, browser, user);
        const { challenge } = pkce();
        const page = await browser.get(
          `/authorize?${new URLSearchParams({
            response_type: 'code',
            client_id: tc.client.id,
            redirect_uri: REDIRECT_URI,
            scope: 'openid',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            dpop_jkt: 'not-a-thumbprint',
          })}`,
        );
        const params = new URL(page.location!).searchParams;
        expect(params.get('error')).toBe('invalid_request');
        expect(params.get('error_description')).toMatch(/dpop_jkt/);
      });
    });

    describe('pushed authorization requests (RFC 9449 §10.1)', () => {
      /** Pushes a code request as `tc` with these DPoP headers and extra parameters. */
      async function push(tc: TestClient, proofs: string[], extra: Record<string, string> = {}) {
        const { verifier, challenge } = pkce();
        const headers = new Headers();
        for (const proof of proofs) headers.append('dpop', proof);
        const body = new URLSearchParams({
          client_id: tc.client.id,
          response_type: 'code',
          redirect_uri: REDIRECT_URI,
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...extra,
        });
        const res = await fetch(`${server.url}/par`, { method: 'POST', headers, body }).then(
          answer,
        );
        return { res, verifier };
      }
      async function codeFromPush(tc: TestClient, requestUri: string, verifier: string) {
        const { user } = await makeUser(ctx);
        const browser = new Browser(server.url);
        await signInBrowser(ctx, browser, user);
        const page = await authorizeAndConsent(
          browser,
          authorizePath({ client_id: tc.client.id, request_uri: requestUri }),
        );
        const value = redirectParams(page).get('code');
        if (!value) throw new Error(`no code in ${page.location}`);
        return { code: value, verifier };
      }

      it('binds the code to the key of the proof sent with the push', async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const key = await dpopKey();
        const parUrl = `${server.url}/par`;
        const first = await push(tc, [await makeProof(key, { htu: parUrl })]);
        expect(first.res.status, first.res.text).toBe(201);
        const c1 = await codeFromPush(tc, String(first.res.body.request_uri), first.verifier);
        const wrong = await exchange(tc, c1, [await makeProof(await dpopKey(), { htu: tokenUrl })]);
        expectDpopError(wrong, 400, 'invalid_grant', /dpop_jkt/);

        const second = await push(tc, [await makeProof(key, { htu: parUrl })]);
        const c2 = await codeFromPush(tc, String(second.res.body.request_uri), second.verifier);
        const right = await exchange(tc, c2, [await makeProof(key, { htu: tokenUrl })]);
        expect(right.status, right.text).toBe(200);
        expect(right.body.token_type).toBe('DPoP');
      });

      it('refuses a push whose proof fails a check, or names another key than its dpop_jkt', async () => {
        const tc = await makeClient(ctx, { type: 'public' });
        const key = await dpopKey();
        const parUrl = `${server.url}/par`;
        const bad = await push(tc, [await makeProof(key, { htu: tokenUrl })]);
        expectDpopError(bad.res, 400, 'invalid_dpop_proof', /htu/);
        const other = await dpopKey();
        const mismatch = await push(tc, [await makeProof(key, { htu: parUrl })], {
          dpop_jkt: other.jkt,
        });
        expectDpopError(mismatch.res, 400, 'invalid_dpop_proof', /dpop_jkt/);
        const same = await push(tc, [await makeProof(key, { htu: parUrl })], { dpop_jkt: key.jkt });
        expect(same.res.status, same.res.text).toBe(201);
      });
    });

    describe('/userinfo (RFC 9449 §7)', () => {
      let tc: TestClient;
      let key: DpopKey;
      let bound: string;
      beforeAll(async () => {
        tc = await makeClient(ctx, {
          accessTokenFormat: factory.name === 'sqlite' ? 'jwt' : 'opaque',
        });
        key = await dpopKey();
        const res = await exchange(tc, await code(tc), [await makeProof(key, { htu: tokenUrl })]);
        bound = String(res.body.access_token);
      });
      const proof = (extra: Partial<Parameters<typeof makeProof>[1]> = {}) =>
        makeProof(key, { htm: 'GET', htu: userinfoUrl, accessToken: bound, ...extra });

      it('answers a DPoP token with a proof for this request and this token (ath)', async () => {
        const res = await userinfoRequest(server, 'DPoP', bound, await proof());
        expect(res.status, res.text).toBe(200);
        expect(typeof res.body.sub).toBe('string');
      });

      it('refuses a missing or wrong ath with 401 invalid_dpop_proof and a DPoP challenge', async () => {
        const missing = await userinfoRequest(
          server,
          'DPoP',
          bound,
          await proof({ accessToken: undefined }),
        );
        expectDpopError(missing, 401, 'invalid_dpop_proof', /ath/);
        expect(missing.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
        expect(missing.headers.get('www-authenticate')).toContain('algs="ES256');
        const wrong = await userinfoRequest(
          server,
          'DPoP',
          bound,
          await proof({ accessToken: 'another token' }),
        );
        expectDpopError(wrong, 401, 'invalid_dpop_proof', /ath/);
      });

      it('refuses a proof for another method or URL, and one with no proof at all', async () => {
        expectDpopError(
          await userinfoRequest(server, 'DPoP', bound, await proof({ htm: 'POST' })),
          401,
          'invalid_dpop_proof',
          /htm/,
        );
        expectDpopError(
          await userinfoRequest(server, 'DPoP', bound, await proof({ htu: tokenUrl })),
          401,
          'invalid_dpop_proof',
          /htu/,
        );
        expectDpopError(
          await userinfoRequest(server, 'DPoP', bound),
          401,
          'invalid_dpop_proof',
          /required/,
        );
      });

      it('refuses a proof by another key than the bound one (401 invalid_token)', async () => {
        const other = await dpopKey();
        const res = await userinfoRequest(
          server,
          'DPoP',
          bound,
          await makeProof(other, { htm: 'GET', htu: userinfoUrl, accessToken: bound }),
        );
        expectDpopError(res, 401, 'invalid_token', /another key/);
        expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
      });

      it('refuses a DPoP-bound token sent as Bearer (401 invalid_token, DPoP challenge)', async () => {
        const res = await userinfo(server.url, bound);
        expectDpopError(res, 401, 'invalid_token', /DPoP-bound/);
        expect(res.headers.get('www-authenticate')).toMatch(/^DPoP /);
        const inBody = await postForm(server.url, '/userinfo', { access_token: bound });
        expectDpopError(inBody, 401, 'invalid_token');
      });

      it('still answers a Bearer token sent as Bearer, and refuses it sent as DPoP', async () => {
        const plain = await exchange(tc, await code(tc), []);
        expect(plain.body.token_type).toBe('Bearer');
        const token = String(plain.body.access_token);
        expect((await userinfo(server.url, token)).status).toBe(200);
        const asDpop = await userinfoRequest(
          server,
          'DPoP',
          token,
          await makeProof(key, { htm: 'GET', htu: userinfoUrl, accessToken: token }),
        );
        expectDpopError(asDpop, 401, 'invalid_token', /not DPoP-bound/);
      });

      it('refuses a replayed proof at /userinfo', async () => {
        const once = await proof();
        expect((await userinfoRequest(server, 'DPoP', bound, once)).status).toBe(200);
        expectDpopError(
          await userinfoRequest(server, 'DPoP', bound, once),
          401,
          'invalid_dpop_proof',
          /used before/,
        );
      });
    });
  });
}

describe('DPoP nonces (RFC 9449 §8), TESSERA_DPOP_NONCE=on', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let tokenUrl: string;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DPOP_NONCE: 'on' } });
    ctx = server.app.tessera;
    tokenUrl = `${server.url}/token`;
  });
  afterAll(async () => server.close());

  const cc = (tc: TestClient, proofs: string[]) =>
    tokenRequest(server, tc, { grant_type: 'client_credentials' }, proofs);

  it('answers a proof without a nonce with use_dpop_nonce and a DPoP-Nonce, then accepts the proof made with it', async () => {
    const tc = await makeClient(ctx, { grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const key = await dpopKey();
    const first = await cc(tc, [await makeProof(key, { htu: tokenUrl })]);
    expectDpopError(first, 400, 'use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toBeTruthy();
    const second = await cc(tc, [await makeProof(key, { htu: tokenUrl, nonce: nonce! })]);
    expect(second.status, second.text).toBe(200);
    expect(second.body.token_type).toBe('DPoP');
    expect(second.headers.get('dpop-nonce')).toBeTruthy();
  });

  it('refuses a stale nonce and a forged one, each with a fresh nonce', async () => {
    const tc = await makeClient(ctx, { grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const key = await dpopKey();
    const now = Math.floor(Date.now() / 1000);
    const stale = currentDpopNonce(ctx, now - 300);
    const res = await cc(tc, [await makeProof(key, { htu: tokenUrl, nonce: stale })]);
    expectDpopError(res, 400, 'use_dpop_nonce', /not current/);
    expect(res.headers.get('dpop-nonce')).toBe(
      currentDpopNonce(ctx, Math.floor(Date.now() / 1000)),
    );
    const fresh = currentDpopNonce(ctx, now);
    const forged = `${fresh.split('.')[0]}.${createHash('sha256').update('x').digest('base64url').slice(0, 22)}`;
    expectDpopError(
      await cc(tc, [await makeProof(key, { htu: tokenUrl, nonce: forged })]),
      400,
      'use_dpop_nonce',
    );
  });

  it('accepts a nonce issued by another instance with the same secret', async () => {
    const other = await startServer({ env: { TESSERA_DPOP_NONCE: 'on' } });
    try {
      const tc = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
      });
      const key = await dpopKey();
      const nonce = currentDpopNonce(other.app.tessera, Math.floor(Date.now() / 1000));
      const res = await cc(tc, [await makeProof(key, { htu: tokenUrl, nonce })]);
      expect(res.status, res.text).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('asks for a nonce at /userinfo too (401 use_dpop_nonce with a DPoP challenge)', async () => {
    const tc = await makeClient(ctx, { grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const key = await dpopKey();
    const nonce = currentDpopNonce(ctx, Math.floor(Date.now() / 1000));
    // A client's own token has no person, but the nonce is asked for first.
    const tokens = await cc(tc, [await makeProof(key, { htu: tokenUrl, nonce })]);
    const token = String(tokens.body.access_token);
    const url = `${server.url}/userinfo`;
    const res = await userinfoRequest(
      server,
      'DPoP',
      token,
      await makeProof(key, { htm: 'GET', htu: url, accessToken: token }),
    );
    expectDpopError(res, 401, 'use_dpop_nonce');
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
    expect(res.headers.get('dpop-nonce')).toBeTruthy();
  });
});

describe('TESSERA_DPOP=off', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DPOP: 'off' } });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  it('ignores the DPoP header, issues Bearer tokens, and advertises no DPoP algorithms', async () => {
    const tc = await makeClient(ctx, { grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const key = await dpopKey();
    const res = await tokenRequest(server, tc, { grant_type: 'client_credentials' }, [
      await makeProof(key, { htu: `${server.url}/token` }),
    ]);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(String(res.body.access_token)).cnf).toBeUndefined();
    const meta = await fetch(`${server.url}/.well-known/openid-configuration`).then(readJson);
    expect(meta.dpop_signing_alg_values_supported).toBeUndefined();
  });

  it('refuses a client that requires DPoP, saying DPoP is off', async () => {
    const tc = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
      dpopBoundAccessTokens: true,
    });
    const res = await tokenRequest(server, tc, { grant_type: 'client_credentials' });
    expectDpopError(res, 400, 'invalid_request', /turned off/);
  });
});

describe('discovery and the admin API', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('advertises the supported DPoP algorithms, asymmetric only', async () => {
    const meta = await fetch(`${server.url}/.well-known/openid-configuration`).then(readJson);
    expect(meta.dpop_signing_alg_values_supported).toContain('ES256');
    expect(meta.dpop_signing_alg_values_supported).toContain('EdDSA');
    expect(meta.dpop_signing_alg_values_supported?.some((a: string) => /^HS|none/.test(a))).toBe(
      false,
    );
  });

  it('sets dpop_bound_access_tokens through the admin API, and shows it', async () => {
    const headers = { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/admin/api/clients`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        client_name: 'Bound',
        grant_types: ['client_credentials'],
        scope: 'api:read',
        dpop_bound_access_tokens: true,
      }),
    }).then(readJson);
    expect(created.dpop_bound_access_tokens).toBe(true);
    const client = await server.app.tessera.store.clients.findById(created.client_id!);
    expect(client?.dpopBoundAccessTokens).toBe(true);
    const patched = await fetch(`${server.url}/admin/api/clients/${created.client_id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ dpop_bound_access_tokens: false }),
    }).then(readJson);
    expect(patched.dpop_bound_access_tokens).toBe(false);
  });

  it('lets a browser app send DPoP and read DPoP-Nonce (CORS)', async () => {
    const res = await fetch(`${server.url}/token`, {
      method: 'OPTIONS',
      headers: { origin: 'https://spa.example', 'access-control-request-method': 'POST' },
    });
    expect(res.headers.get('access-control-allow-headers')).toMatch(/DPoP/);
    const post = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { origin: 'https://spa.example' },
    });
    expect(post.headers.get('access-control-expose-headers')).toMatch(/DPoP-Nonce/);
  });
});
