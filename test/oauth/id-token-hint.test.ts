import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { JWS_ALGS, type JwsAlg, signJws } from '../../src/lib/jws.js';
import type { Client, User } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  obtainCode,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';

const BYE = 'https://app.example.com/bye';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * id_token_hint at /authorize (OpenID Connect Core §3.1.2.1) and at /logout (RP-Initiated
 * Logout 1.0 §2), verified by jose with the key its kid names, at that key's algorithm only.
 * A hint that is not an ID token of ours gets invalid_request, never a 500; an expired one is
 * still a hint.
 */
describe('id_token_hint', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  interface SignedIn {
    tc: TestClient;
    user: User;
    browser: Browser;
    sid: string;
    idToken: string;
  }

  async function signedIn(overrides: Partial<Client> = {}): Promise<SignedIn> {
    const tc = await makeClient(ctx, { postLogoutRedirectUris: [BYE], ...overrides });
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const sid = await signInBrowser(ctx, browser, user);
    const code = await obtainCode(browser, tc.client);
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
    });
    expect(res.status, res.text).toBe(200);
    return { tc, user, browser, sid, idToken: String(res.body.id_token) };
  }

  const isSignedIn = async (browser: Browser) => (await browser.get('/account')).status === 200;

  const authorize = (clientId: string, hint: string) =>
    authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email',
      state: 'xyz',
      id_token_hint: hint,
    });

  const logout = (hint: string) =>
    `/logout?id_token_hint=${encodeURIComponent(hint)}&post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=s`;

  /** The claims of a genuine ID token for `who`, for forging variants of it. */
  const claimsFor = (who: SignedIn) => {
    const now = Math.floor(clock.now() / 1000);
    return {
      iss: server.url,
      sub: who.user.id,
      aud: who.tc.client.id,
      sid: who.sid,
      iat: now,
      exp: now + 3600,
    };
  };

  /** Hints that are not ID tokens of ours, each made from a genuine one. */
  const badHints: [string, (who: SignedIn) => Promise<string> | string][] = [
    ['garbage', () => 'garbage'],
    ['three parts of garbage', () => 'a.b.c'],
    [
      'alg none',
      (who) =>
        `${b64({ alg: 'none', kid: ctx.keys.signingKey('RS256').kid })}.${b64(claimsFor(who))}.`,
    ],
    [
      "an alg other than its key's (RS256 by our RSA key, under our ES256 key's kid)",
      (who) =>
        signJws(
          { alg: 'RS256', kid: ctx.keys.signingKey('ES256').kid, typ: 'JWT' },
          claimsFor(who),
          ctx.keys.signingKey('RS256').privateKey,
        ),
    ],
    [
      'an unknown kid',
      (who) =>
        signJws(
          { alg: 'RS256', kid: 'not-a-key-of-ours', typ: 'JWT' },
          claimsFor(who),
          ctx.keys.signingKey('RS256').privateKey,
        ),
    ],
    [
      'a key that is not ours under our kid',
      (who) =>
        signJws(
          { alg: 'ES256', kid: ctx.keys.signingKey('ES256').kid, typ: 'JWT' },
          claimsFor(who),
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
        ),
    ],
    [
      'a tampered payload (another sub)',
      (who) => {
        const [h, p, s] = who.idToken.split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
        return `${h}.${b64({ ...claims, sub: 'someone-else' })}.${s}`;
      },
    ],
    ['a truncated signature', (who) => who.idToken.slice(0, -4)],
    [
      'an access token of ours for the same person and app (typ at+jwt)',
      (who) =>
        signJws(
          { alg: 'ES256', kid: ctx.keys.signingKey('ES256').kid, typ: 'at+jwt' },
          { ...claimsFor(who), client_id: who.tc.client.id },
          ctx.keys.signingKey('ES256').privateKey,
        ),
    ],
  ];

  describe.each(badHints)('a hint that is %s', (_name, make) => {
    it('/authorize redirects invalid_request to the client, with state', async () => {
      const who = await signedIn();
      const page = await who.browser.get(authorize(who.tc.client.id, await make(who)));
      expect(page.status, page.text).toBe(302);
      const params = redirectParams(page);
      expect(page.location?.startsWith(`${REDIRECT_URI}?`)).toBe(true);
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('error_description')).toContain('id_token_hint');
      expect(params.get('state')).toBe('xyz');
      expect(params.get('code')).toBeNull();
    });

    it('/logout answers invalid_request on a page, never redirects, and keeps the session', async () => {
      const who = await signedIn();
      const page = await who.browser.get(logout(await make(who)));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.text).toContain('invalid_request');
      expect(page.text).toContain('id_token_hint');
      expect(await isSignedIn(who.browser)).toBe(true);
    });
  });

  describe.each(JWS_ALGS)(
    'an ID token signed %s (the client’s id_token_signed_response_alg)',
    (alg: JwsAlg) => {
      it('is a hint /logout trusts: it signs out at once', async () => {
        const who = await signedIn({ idTokenSignedResponseAlg: alg });
        expect(
          JSON.parse(Buffer.from(who.idToken.split('.')[0]!, 'base64url').toString()).alg,
        ).toBe(alg);
        const page = await who.browser.get(logout(who.idToken));
        expect(page.status, page.text).toBe(303);
        expect(page.location).toBe(`${BYE}?state=s`);
        expect(await isSignedIn(who.browser)).toBe(false);
      });

      it('signed by jose with the same key, is a hint too', async () => {
        const who = await signedIn();
        const key = ctx.keys.signingKey(alg);
        const hint = await new SignJWT(claimsFor(who))
          .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
          .sign(key.privateKey);
        const page = await who.browser.get(logout(hint));
        expect(page.status, page.text).toBe(303);
        expect(await isSignedIn(who.browser)).toBe(false);
      });
    },
  );

  it('an expired ID token is still a hint, at /authorize and at /logout', async () => {
    const who = await signedIn();
    clock.advance(ctx.config.idTokenTtl + 60);
    const exp = JSON.parse(Buffer.from(who.idToken.split('.')[1]!, 'base64url').toString()).exp;
    expect(exp).toBeLessThan(Math.floor(clock.now() / 1000));
    // The grant was given when the code was obtained: the request goes straight back with a code.
    const page = await who.browser.get(authorize(who.tc.client.id, who.idToken));
    expect(page.status, page.text).toBe(302);
    expect(redirectParams(page).get('code')).toBeTruthy();
    const out = await who.browser.get(logout(who.idToken));
    expect(out.status, out.text).toBe(303);
    expect(out.location).toBe(`${BYE}?state=s`);
    expect(await isSignedIn(who.browser)).toBe(false);
  });
});
