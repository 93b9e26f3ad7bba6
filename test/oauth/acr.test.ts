import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { ACR_PASSWORD } from '../../src/domain/acr.js';
import { startSession } from '../../src/domain/sessions.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  refresh,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';

const UNRANKED = 'urn:example:acr:weak';

/**
 * `acr` (OpenID Connect Core §2): the class the sign-in reached, in every ID token; asked for
 * with acr_values (§3.1.2.1) or the claims parameter (§5.5.1.1); advertised in discovery.
 */
describe('authentication context class (acr)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const request = (tc: TestClient, extra: Record<string, string> = {}) =>
    authorizePath({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access',
      state: 'st',
      ...extra,
    });

  async function exchange(tc: TestClient, code: string | null) {
    expect(code).toBeTruthy();
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
    });
    expect(res.status, res.text).toBe(200);
    return res.body as { id_token: string; refresh_token: string; access_token: string };
  }

  async function person() {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { user, password, browser };
  }

  /** A browser whose session reached a class Tessera does not rank (another sign-in method). */
  async function unrankedSession() {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const { secret } = await startSession(ctx, { userId: user.id, amr: [], acr: UNRANKED });
    browser.cookies.set('tessera_session', secret);
    return { user, password, browser };
  }

  it('is advertised in discovery', async () => {
    const meta = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(meta.acr_values_supported).toEqual([ACR_PASSWORD, 'urn:tessera:acr:mfa', 'pwd', 'mfa']);
    expect(meta.claims_supported).toContain('acr');
  });

  it('is in the ID token of a password sign-in through the sign-in page, with amr, and after a refresh', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const done = await signInThroughPage(
      browser,
      await browser.get(request(tc)),
      user.username,
      password,
    );
    const tokens = await exchange(tc, redirectParams(done).get('code'));
    const idToken = decodeJwt(tokens.id_token);
    expect(idToken.acr).toBe('urn:tessera:acr:pwd');
    expect(idToken.amr).toEqual(['pwd']);
    expect(decodeJwt(tokens.access_token).acr).toBe('urn:tessera:acr:pwd');
    const refreshed = await refresh(server.url, tc, tokens.refresh_token);
    expect(decodeJwt(String(refreshed.body.id_token)).acr).toBe('urn:tessera:acr:pwd');
  });

  it('acr_values naming the password class is met by a password sign-in', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { browser } = await person();
    const page = await browser.get(request(tc, { acr_values: `urn:example:gold ${ACR_PASSWORD}` }));
    const tokens = await exchange(tc, redirectParams(page).get('code'));
    expect(decodeJwt(tokens.id_token).acr).toBe(ACR_PASSWORD);
  });

  it('acr_values that no sign-in here can reach are voluntary: the request goes on, and acr says what was reached', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { browser } = await person();
    const page = await browser.get(request(tc, { acr_values: 'urn:example:gold' }));
    const tokens = await exchange(tc, redirectParams(page).get('code'));
    expect(decodeJwt(tokens.id_token).acr).toBe(ACR_PASSWORD);
  });

  it('a session that did not reach the class asked for signs in again for it, then goes on', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { user, password, browser } = await unrankedSession();
    // Not asked for: the session will do, and its ID token says what it reached.
    const plain = await exchange(tc, redirectParams(await browser.get(request(tc))).get('code'));
    expect(decodeJwt(plain.id_token).acr).toBe(UNRANKED);

    const asked = await browser.get(request(tc, { acr_values: ACR_PASSWORD }));
    expect(asked.status).toBe(303);
    expect(new URL(asked.location!).pathname).toBe('/login');
    const done = await signInThroughPage(browser, asked, user.username, password);
    const tokens = await exchange(tc, redirectParams(done).get('code'));
    expect(decodeJwt(tokens.id_token).acr).toBe(ACR_PASSWORD);
    expect(decodeJwt(tokens.id_token).amr).toEqual(['pwd']);
  });

  describe('asked for as an Essential Claim (claims parameter)', () => {
    const essential = (values: string[]) =>
      JSON.stringify({ id_token: { acr: { essential: true, values } } });

    it('is met when one of the values can be reached', async () => {
      const tc = await makeClient(ctx, { firstParty: true });
      const { browser } = await person();
      const page = await browser.get(
        request(tc, { claims: essential(['urn:example:gold', ACR_PASSWORD]) }),
      );
      const tokens = await exchange(tc, redirectParams(page).get('code'));
      expect(decodeJwt(tokens.id_token).acr).toBe(ACR_PASSWORD);
      // `value` works as `values` does, and acr never reaches the consent page.
      const { client: third } = await makeClient(ctx, { name: 'Third' });
      const consent = await browser.get(
        request(
          { client: third, secret: undefined },
          {
            claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR_PASSWORD } } }),
          },
        ),
      );
      expect(consent.status).toBe(200);
      const lines = [...consent.text.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]);
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(line).not.toContain('acr');
    });

    it('fails with unmet_authentication_requirements when no sign-in here can reach it, without asking anyone to sign in', async () => {
      const tc = await makeClient(ctx, { firstParty: true });
      for (const browser of [new Browser(server.url), (await person()).browser]) {
        const page = await browser.get(request(tc, { claims: essential(['urn:example:gold']) }));
        const params = redirectParams(page);
        expect(params.get('error')).toBe('unmet_authentication_requirements');
        expect(params.get('error_description')).toContain(ACR_PASSWORD);
        expect(params.get('state')).toBe('st');
        expect(params.get('code')).toBeNull();
      }
    });

    it('sends a session that did not reach it to sign in again, and with prompt=none is interaction_required', async () => {
      const tc = await makeClient(ctx, { firstParty: true });
      const { user, password, browser } = await unrankedSession();
      const silent = await browser.get(
        request(tc, { claims: essential([ACR_PASSWORD]), prompt: 'none' }),
      );
      expect(redirectParams(silent).get('error')).toBe('interaction_required');
      const asked = await browser.get(request(tc, { claims: essential([ACR_PASSWORD]) }));
      const done = await signInThroughPage(browser, asked, user.username, password);
      const tokens = await exchange(tc, redirectParams(done).get('code'));
      expect(decodeJwt(tokens.id_token).acr).toBe(ACR_PASSWORD);
    });

    it('a malformed acr request is invalid_request', async () => {
      const tc = await makeClient(ctx, { firstParty: true });
      const { browser } = await person();
      for (const acr of [{ values: 'urn:x' }, { values: [1] }, { value: ['a'] }]) {
        const page = await browser.get(
          request(tc, { claims: JSON.stringify({ id_token: { acr } }) }),
        );
        expect(redirectParams(page).get('error'), JSON.stringify(acr)).toBe('invalid_request');
      }
    });
  });
});
