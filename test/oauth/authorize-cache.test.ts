import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { Store, User } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page, readForms } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { openSqlite, type TestStore } from '../helpers/stores.js';

const SESSION_TTL = 3600;

/** The store as opened, recording the name of every method called while `calls` is set. */
function recording(store: Store): { store: Store; start(): string[]; stop(): void } {
  let calls: string[] | undefined;
  const wrap = (target: object, prefix: string) =>
    Object.fromEntries(
      Object.entries(target).map(([name, value]) => [
        name,
        typeof value === 'function'
          ? (...args: unknown[]) => {
              calls?.push(`${prefix}${name}`);
              return value.apply(target, args);
            }
          : value,
      ]),
    );
  const parts = Object.fromEntries(
    Object.entries(store).map(([name, value]) => [
      name,
      value && typeof value === 'object' ? wrap(value, `${name}.`) : value,
    ]),
  );
  return {
    store: { ...wrap(store, ''), ...parts } as unknown as Store,
    start: () => {
      calls = [];
      return calls;
    },
    stop: () => {
      calls = undefined;
    },
  };
}

/**
 * Issue 11: a signed-in person's /authorize with a remembered grant reads its session, person
 * and grant from memory. These run with the cache on, for longer than any test (60 s), so that
 * each ending below is seen because the write that made it cleared the cache, not because the
 * cache ran out.
 */
describe('/authorize served from memory', () => {
  let opened: TestStore;
  let recorder: ReturnType<typeof recording>;
  let server: RunningServer;
  let ctx: AppContext;
  let tc: TestClient;
  const clock = new FrozenClock();
  beforeAll(async () => {
    opened = await openSqlite();
    recorder = recording(opened.store);
    server = await startServer({
      store: recorder.store,
      clock,
      env: { TESSERA_TOKEN_CACHE_SECONDS: '60', TESSERA_SESSION_TTL: String(SESSION_TTL) },
    });
    ctx = server.app.tessera;
    tc = await makeClient(ctx);
  });
  afterAll(async () => {
    await server.close();
    await opened.cleanup();
  });

  const SCOPE = 'openid profile';

  function authorize(browser: Browser): Promise<Page> {
    return browser.get(
      authorizePath({
        response_type: 'code',
        client_id: tc.client.id,
        redirect_uri: REDIRECT_URI,
        scope: SCOPE,
        state: 'st',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    );
  }

  async function expectCode(browser: Browser): Promise<void> {
    const page = await authorize(browser);
    expect(page.status, page.text).toBe(302);
    expect(redirectParams(page).get('code')).toBeTruthy();
  }

  function expectSignInPage(page: Page): void {
    expect(page.status, page.text).toBe(303);
    expect(new URL(page.location!).pathname).toBe('/login');
    expect(page.location).not.toContain('code=');
  }

  /**
   * A person signed in through the sign-in page who has allowed the app, whose /authorize has
   * been answered from memory once already. `cookie` is their session cookie as it was.
   */
  async function remembered(person?: { user: User; password: string }) {
    const { user, password } = person ?? (await makeUser(ctx));
    const browser = new Browser(server.url);
    const login = await browser.get('/login');
    const done = await browser.submit(
      login,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(done.status, done.text).toBe(303);
    await obtainCode(browser, tc.client, { scope: SCOPE });
    await expectCode(browser);
    await expectCode(browser);
    return { user, password, browser, cookie: browser.cookies.get('tessera_session')! };
  }

  async function accountForm(
    browser: Browser,
    pick: (action: string, fields: Record<string, string>) => boolean,
  ) {
    const account = await browser.get('/account');
    const form = readForms(account.text, account.url).find((f) => pick(f.action, f.fields));
    expect(form, account.text).toBeDefined();
    return form!;
  }

  it('reads nothing from the database and writes the code once', async () => {
    const { browser } = await remembered();
    const calls = recorder.start();
    try {
      const { verifier, challenge } = pkce();
      const page = await browser.get(
        authorizePath({
          response_type: 'code',
          client_id: tc.client.id,
          redirect_uri: REDIRECT_URI,
          scope: SCOPE,
          state: 'st',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      );
      expect(calls).toEqual(['codes.save']);
      // The code so made is good at the token endpoint.
      const tokens = await postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code: redirectParams(page).get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
      expect(tokens.status, tokens.text).toBe(200);
    } finally {
      recorder.stop();
    }
  });

  it('records the session’s link to the app once', async () => {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const calls = recorder.start();
    try {
      await obtainCode(browser, tc.client, { scope: SCOPE });
      expect(calls.filter((c) => c === 'sessions.addClient')).toHaveLength(1);
      await expectCode(browser);
      expect(calls.filter((c) => c === 'sessions.addClient')).toHaveLength(1);
    } finally {
      recorder.stop();
    }
  });

  it('signing out ends it at once: the old cookie gets the sign-in page, not a code', async () => {
    const { browser, cookie } = await remembered();
    const signOut = await accountForm(browser, (action) => action.endsWith('/logout'));
    expect((await browser.post(signOut.action, signOut.fields)).status).toBe(303);
    expectSignInPage(await authorize(browser));
    // A copy of the cookie kept elsewhere is refused by the server, not just forgotten.
    browser.cookies.set('tessera_session', cookie);
    expectSignInPage(await authorize(browser));
  });

  it('"End session" from another browser ends it at once', async () => {
    const { user, browser } = await remembered();
    const other = new Browser(server.url);
    const otherSid = await signInBrowser(ctx, other, user);
    const form = await accountForm(
      other,
      (_, fields) => fields.session_id !== undefined && fields.session_id !== otherSid,
    );
    expect((await other.post(form.action, form.fields)).status).toBe(303);
    expectSignInPage(await authorize(browser));
  });

  it('another person signing in in the same browser: the first one’s cookie gets the sign-in page', async () => {
    const { browser, cookie } = await remembered();
    const next = await makeUser(ctx);
    const login = await browser.get('/login');
    const done = await browser.submit(
      login,
      { 'Username or email': next.user.username, Password: next.password },
      'Sign in',
    );
    expect(done.status, done.text).toBe(303);
    const old = new Browser(server.url);
    old.cookies.set('tessera_session', cookie);
    expectSignInPage(await authorize(old));
  });

  it('revoking the app on the account page asks for consent again at once', async () => {
    const { user, browser } = await remembered();
    const grant = await ctx.store.grants.find(user.id, tc.client.id);
    const form = await accountForm(
      browser,
      (action, fields) => action.endsWith('/account/apps/revoke') && fields.grant_id === grant!.id,
    );
    expect((await browser.post(form.action, form.fields)).status).toBe(303);
    const page = await authorize(browser);
    expect(page.status, page.location).toBe(200);
    expect(page.text).toContain('Allow');
    expect(readForms(page.text, page.url).some((f) => f.action.endsWith('/consent'))).toBe(true);
  });

  it('allowing more scopes is remembered at once: the wider request gets its code without asking again', async () => {
    const { browser } = await remembered();
    const wider = 'openid profile email';
    await obtainCode(browser, tc.client, { scope: wider });
    const page = await browser.get(
      authorizePath({
        response_type: 'code',
        client_id: tc.client.id,
        redirect_uri: REDIRECT_URI,
        scope: wider,
        state: 'st',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    );
    expect(page.status, page.text).toBe(302);
    expect(redirectParams(page).get('code')).toBeTruthy();
  });

  it('changing the password ends the other sessions at once; the one that changed it goes on', async () => {
    const signed = await remembered();
    const other = await remembered({ user: signed.user, password: signed.password });
    const form = await accountForm(other.browser, (action) => action.endsWith('/account/password'));
    const changed = await other.browser.post(form.action, {
      ...form.fields,
      current_password: signed.password,
      new_password: 'a brand new passphrase for tessera',
    });
    expect(changed.status, changed.text).toBe(303);
    expectSignInPage(await authorize(signed.browser));
    await expectCode(other.browser);
  });

  it('an administrator deleting the person stops their codes at once', async () => {
    const { user, browser } = await remembered();
    const res = await fetch(`${server.url}/admin/api/users/${user.id}`, {
      method: 'DELETE',
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    expect(res.status).toBe(204);
    expectSignInPage(await authorize(browser));
  });

  it('a person deleting their account stops their codes at once, even with a kept cookie', async () => {
    const { password, browser, cookie } = await remembered();
    const form = await accountForm(browser, (action) => action.endsWith('/account/delete'));
    expect((await browser.post(form.action, { ...form.fields, password })).status).toBe(303);
    browser.cookies.set('tessera_session', cookie);
    expectSignInPage(await authorize(browser));
  });

  it('signing in again replaces the cookie at once: the old one gets the sign-in page', async () => {
    const { user, password, browser, cookie } = await remembered();
    const login = await browser.get('/login?prompt=login');
    const done = await browser.submit(
      login,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(done.status, done.text).toBe(303);
    expect(browser.cookies.get('tessera_session')).not.toBe(cookie);
    await expectCode(browser);
    const old = new Browser(server.url);
    old.cookies.set('tessera_session', cookie);
    expectSignInPage(await authorize(old));
  });

  it('a session that expires is refused though its record is kept: expiry is checked on every use', async () => {
    const { browser } = await remembered();
    clock.advance(SESSION_TTL - 1);
    await expectCode(browser);
    clock.advance(1);
    expectSignInPage(await authorize(browser));
  });
});
