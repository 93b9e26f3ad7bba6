import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startSession } from '../../src/domain/sessions.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page, readForms } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';

/** The `prompt` values (OpenID Connect Core §3.1.2.1) and prompt=none's errors (§3.1.2.6). */
describe('prompt', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const request = (client: Client, extra: Record<string, string> = {}) =>
    authorizePath({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'st',
      ...extra,
    });

  async function person() {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { user, password, browser };
  }

  const now = () => Math.floor(clock.now() / 1000);

  /** The ID token the code in `page`'s redirect is exchanged for. */
  async function idTokenFrom(tc: TestClient, page: Page) {
    const code = redirectParams(page).get('code');
    expect(code, page.location ?? page.text.slice(0, 300)).toBeTruthy();
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
    });
    expect(res.status, res.text).toBe(200);
    return decodeJwt(String(res.body.id_token));
  }

  /** A redirect to the sign-in page that asks for a new sign-in (prompt=login). */
  function expectSignInAgain(page: Page) {
    expect(page.status, page.text.slice(0, 300)).toBe(303);
    const login = new URL(page.location!, server.url);
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('prompt')).toBe('login');
  }

  describe('select_account', () => {
    it('shows the signed-in person with "Continue as" and "Use another account", on a form with a CSRF token', async () => {
      const { client } = await makeClient(ctx, { name: 'Garden Planner', firstParty: true });
      const { user, browser } = await person();
      const page = await browser.get(request(client, { prompt: 'select_account' }));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.headers.get('cache-control')).toContain('no-store');
      expect(page.text).toContain('Choose an account');
      expect(page.text).toContain('Garden Planner');
      expect(page.text).toContain(user.email);
      const form = readForms(page.text, page.url).find((f) =>
        f.action.endsWith('/select-account'),
      )!;
      expect(form.method).toBe('post');
      expect(form.fields._csrf).toBeTruthy();
      expect(form.buttons.map((b) => b.label)).toEqual([
        `Continue as ${user.username}`,
        'Use another account',
      ]);
    });

    it('"Continue as" goes on as the signed-in person: to the code, or to consent when it is needed', async () => {
      const { client: firstParty } = await makeClient(ctx, { firstParty: true });
      const { client: thirdParty } = await makeClient(ctx, { name: 'Third Party App' });
      const { user, browser } = await person();

      const chooser = await browser.get(request(firstParty, { prompt: 'select_account' }));
      const done = await browser.submit(chooser, {}, `Continue as ${user.username}`);
      expect(done.status).toBe(303);
      expect(redirectParams(done).get('code')).toBeTruthy();
      expect(redirectParams(done).get('state')).toBe('st');

      const other = await browser.get(request(thirdParty, { prompt: 'select_account' }));
      const consent = await browser.submit(other, {}, `Continue as ${user.username}`);
      expect(consent.status).toBe(200);
      expect(consent.text).toContain('Third Party App wants to access your account');
      const allowed = await browser.submit(consent, {}, 'Allow');
      expect(redirectParams(allowed).get('code')).toBeTruthy();
    });

    it('"Use another account" goes to the sign-in page, then back to the request as the new person, without asking again', async () => {
      const tc = await makeClient(ctx, { firstParty: true });
      const { client } = tc;
      const { user: first, browser } = await person();
      const { user: second, password } = await makeUser(ctx);
      const chooser = await browser.get(request(client, { prompt: 'select_account' }));
      const toLogin = await browser.submit(chooser, {}, 'Use another account');
      expect(toLogin.status).toBe(303);
      expect(new URL(toLogin.location!).pathname).toBe('/login');

      const done = await signInThroughPage(browser, toLogin, second.username, password);
      const code = redirectParams(done).get('code');
      expect(code, done.text.slice(0, 200)).toBeTruthy();
      const tokens = await postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: REDIRECT_URI,
      });
      const info = await userinfo(server.url, String(tokens.body.access_token));
      expect(info.body.sub).toBe(second.id);
      expect(info.body.sub).not.toBe(first.id);
    });

    it('without a session goes to the sign-in page, and after it to the client with no chooser', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { user, password } = await makeUser(ctx);
      const browser = new Browser(server.url);
      const asked = await browser.get(request(client, { prompt: 'select_account' }));
      expect(new URL(asked.location!).pathname).toBe('/login');
      const done = await signInThroughPage(browser, asked, user.username, password);
      expect(redirectParams(done).get('code')).toBeTruthy();
    });

    it('with login: a fresh sign-in is the choice, so no chooser follows it', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { user, password, browser } = await person();
      const asked = await browser.get(request(client, { prompt: 'login select_account' }));
      expect(new URL(asked.location!).pathname).toBe('/login');
      const done = await signInThroughPage(browser, asked, user.username, password);
      expect(redirectParams(done).get('code')).toBeTruthy();
    });

    it('the chooser is answered once, only with its CSRF token, only by the session it was shown to, and not with a consent form', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { browser } = await person();
      const chooser = await browser.get(request(client, { prompt: 'select_account' }));
      const form = readForms(chooser.text, chooser.url).find((f) =>
        f.action.endsWith('/select-account'),
      )!;

      const forged = await browser.post('/select-account', {
        ...form.fields,
        _csrf: 'forged',
        choice: 'continue',
      });
      expect(forged.status).toBe(403);

      // Another person's browser cannot answer it.
      const { browser: other } = await person();
      const otherChooser = await other.get(request(client, { prompt: 'select_account' }));
      const otherForm = readForms(otherChooser.text, otherChooser.url)[0]!;
      const stolen = await other.post('/select-account', {
        ...otherForm.fields,
        interaction: form.fields.interaction!,
        choice: 'continue',
      });
      expect(stolen.status).toBe(400);
      expect(stolen.location).toBeUndefined();

      const first = await browser.post('/select-account', { ...form.fields, choice: 'continue' });
      expect(redirectParams(first).get('code')).toBeTruthy();
      const replay = await browser.post('/select-account', { ...form.fields, choice: 'continue' });
      expect(replay.status).toBe(400);
      expect(replay.text).toContain('already been made');

      // A consent form's sealed request is not an account choice.
      const { client: thirdParty } = await makeClient(ctx);
      const consent = await browser.get(request(thirdParty));
      const consentForm = readForms(consent.text, consent.url).find((f) =>
        f.action.endsWith('/consent'),
      )!;
      const crossed = await browser.post('/select-account', {
        ...consentForm.fields,
        choice: 'continue',
      });
      expect(crossed.status).toBe(400);
    });

    it('takes only "continue" or "other" as the choice: anything else, or none, is invalid_request and leaves the form usable', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { browser } = await person();
      const chooser = await browser.get(request(client, { prompt: 'select_account' }));
      const form = readForms(chooser.text, chooser.url).find((f) =>
        f.action.endsWith('/select-account'),
      )!;
      for (const choice of [undefined, '', 'Continue', 'yes']) {
        const fields = { ...form.fields, ...(choice === undefined ? {} : { choice }) };
        const res = await browser.post('/select-account', fields);
        expect(res.status, String(choice)).toBe(400);
        expect(res.location).toBeUndefined();
        expect(res.text).toContain('choice must be');
      }
      const ok = await browser.post('/select-account', { ...form.fields, choice: 'continue' });
      expect(redirectParams(ok).get('code')).toBeTruthy();
    });

    it('"Use another account" does not fill in the sign-in page with the login_hint of the account left', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { user, browser } = await person();
      const chooser = await browser.get(
        request(client, { prompt: 'select_account', login_hint: user.email }),
      );
      const toLogin = await browser.submit(chooser, {}, 'Use another account');
      const login = new URL(toLogin.location!, server.url);
      expect(login.pathname).toBe('/login');
      expect(login.searchParams.get('login_hint')).toBeNull();
      const page = await browser.follow(toLogin);
      expect(page.text).not.toContain(user.email);
    });
  });

  describe('the chooser and the consent form check the sign-in again when answered', () => {
    it('"Continue" after max_age ran out while the chooser was open sends the person to sign in again', async () => {
      const tc = await makeClient(ctx, { firstParty: true });
      const { user, password, browser } = await person();
      clock.advance(50);
      const ask = request(tc.client, { prompt: 'select_account', max_age: '60' });
      const chooser = await browser.get(ask);
      expect(chooser.status).toBe(200);
      clock.advance(500);
      const answered = await browser.submit(chooser, {}, `Continue as ${user.username}`);
      expectSignInAgain(answered);
      // Signed in again, the person is not asked to choose again: the sign-in was the choice.
      const done = await signInThroughPage(browser, answered, user.username, password);
      expect((await idTokenFrom(tc, done)).auth_time).toBe(now());

      // Within max_age, "Continue" goes on with the sign-in the chooser was shown to.
      const signedInAt = now();
      const again = await browser.get(ask);
      clock.advance(30);
      const fine = await browser.submit(again, {}, `Continue as ${user.username}`);
      expect((await idTokenFrom(tc, fine)).auth_time).toBe(signedInAt);
    });

    it('"Allow" after max_age ran out while the consent page was open sends the person to sign in again', async () => {
      const tc = await makeClient(ctx, { name: 'Third Party App' });
      const { user, password, browser } = await person();
      clock.advance(50);
      const consent = await browser.get(request(tc.client, { max_age: '60' }));
      expect(consent.text).toContain('Third Party App wants to access your account');
      clock.advance(500);
      const allowed = await browser.submit(consent, {}, 'Allow');
      expectSignInAgain(allowed);
      // Signed in for this request, the person is asked to consent again; that sign-in too
      // must still be within max_age when they answer.
      const again = await signInThroughPage(browser, allowed, user.username, password);
      expect(again.text).toContain('Third Party App wants to access your account');
      clock.advance(61);
      const late = await browser.submit(again, {}, 'Allow');
      expectSignInAgain(late);

      const last = await signInThroughPage(browser, late, user.username, password);
      const signedInAt = now();
      clock.advance(30);
      const done = await browser.submit(last, {}, 'Allow');
      expect((await idTokenFrom(tc, done)).auth_time).toBe(signedInAt);
    });

    it('a consent form answered after a sign-in made for prompt=login or max_age=0 goes on, however long it was open', async () => {
      const tc = await makeClient(ctx);
      const { user, password, browser } = await person();
      const asks: Record<string, string>[] = [
        { prompt: 'login consent' },
        { prompt: 'consent', max_age: '0' },
      ];
      for (const extra of asks) {
        const asked = await browser.get(request(tc.client, extra));
        const consent = await signInThroughPage(browser, asked, user.username, password);
        expect(consent.status, JSON.stringify(extra)).toBe(200);
        const signedInAt = now();
        clock.advance(300);
        const done = await browser.submit(consent, {}, 'Allow');
        expect((await idTokenFrom(tc, done)).auth_time).toBe(signedInAt);
      }
    });

    it('"Deny" needs no new sign-in: access_denied', async () => {
      const tc = await makeClient(ctx);
      const { browser } = await person();
      const consent = await browser.get(request(tc.client, { max_age: '60' }));
      clock.advance(500);
      const denied = await browser.submit(consent, {}, 'Deny');
      expect(redirectParams(denied).get('error')).toBe('access_denied');
    });
  });

  describe('consent', () => {
    it('shows the consent page even after consent was given, and even to a first-party client', async () => {
      const { client } = await makeClient(ctx);
      const { client: firstParty } = await makeClient(ctx, { firstParty: true });
      const { browser } = await person();
      await browser.submit(await browser.get(request(client)), {}, 'Allow');
      expect(redirectParams(await browser.get(request(client))).get('code')).toBeTruthy();
      for (const c of [client, firstParty]) {
        const page = await browser.get(request(c, { prompt: 'consent' }));
        expect(page.status).toBe(200);
        // Scopes allowed before are said to be, so the person knows nothing new is asked.
        expect(page.text.includes('allowed before')).toBe(c === client);
        expect(readForms(page.text, page.url)[1]?.buttons.map((b) => b.label)).toEqual([
          'Allow',
          'Deny',
        ]);
      }
    });
  });

  describe('none (OpenID Connect Core §3.1.2.6)', () => {
    it('login_required without a session, and when max_age asks for a newer sign-in', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const anonymous = await new Browser(server.url).get(request(client, { prompt: 'none' }));
      expect(redirectParams(anonymous).get('error')).toBe('login_required');
      expect(redirectParams(anonymous).get('state')).toBe('st');

      const { browser } = await person();
      clock.advance(120);
      const stale = await browser.get(request(client, { prompt: 'none', max_age: '60' }));
      expect(redirectParams(stale).get('error')).toBe('login_required');
      const fine = await browser.get(request(client, { prompt: 'none', max_age: '600' }));
      expect(redirectParams(fine).get('code')).toBeTruthy();
    });

    it('consent_required when the person has not consented, and a code once they have', async () => {
      const { client } = await makeClient(ctx);
      const { browser } = await person();
      const silent = await browser.get(request(client, { prompt: 'none' }));
      expect(redirectParams(silent).get('error')).toBe('consent_required');
      await browser.submit(await browser.get(request(client)), {}, 'Allow');
      expect(
        redirectParams(await browser.get(request(client, { prompt: 'none' }))).get('code'),
      ).toBeTruthy();
    });

    it('interaction_required when the sign-in did not reach the class acr_values asks for', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      // A session whose class Tessera does not rank (made by another sign-in method, say).
      const { secret } = await startSession(ctx, {
        userId: user.id,
        amr: [],
        acr: 'urn:example:acr:weak',
      });
      browser.cookies.set('tessera_session', secret);
      const silent = await browser.get(
        request(client, { prompt: 'none', acr_values: 'urn:tessera:acr:pwd' }),
      );
      expect(redirectParams(silent).get('error')).toBe('interaction_required');
      expect(redirectParams(silent).get('error_description')).toContain('acr_values');
    });

    it('combined with another value is invalid_request', async () => {
      const { client } = await makeClient(ctx, { firstParty: true });
      const { browser } = await person();
      for (const prompt of ['none login', 'none consent', 'none select_account']) {
        const res = await browser.get(request(client, { prompt }));
        expect(redirectParams(res).get('error'), prompt).toBe('invalid_request');
        expect(redirectParams(res).get('error_description')).toContain('prompt=none');
      }
    });
  });
});
