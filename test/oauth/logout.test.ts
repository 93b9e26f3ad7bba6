import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { backchannelReceiver } from '../helpers/backchannel.js';
import { Browser, readForms } from '../helpers/browser.js';
import {
  basicAuth,
  makeClient,
  makeUser,
  obtainCode,
  postForm,
  REDIRECT_URI,
  signInBrowser,
} from '../helpers/oauth.js';

const BYE = 'https://app.example.com/bye';

describe('logout (RP-Initiated Logout 1.0, Back-Channel Logout 1.0)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function signedInWithIdToken(overrides: Parameters<typeof makeClient>[1] = {}) {
    const { client, secret } = await makeClient(ctx, {
      postLogoutRedirectUris: [BYE],
      ...overrides,
    });
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const sid = await signInBrowser(ctx, browser, user);
    const code = await obtainCode(browser, client);
    const tokens = await postForm(
      server.url,
      '/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
      { authorization: basicAuth(client.id, secret!) },
    );
    return { client, user, browser, sid, idToken: String(tokens.body.id_token) };
  }

  const signedIn = async (browser: Browser) => (await browser.get('/account')).status === 200;

  it('signs out at once with an id_token_hint of the current session and returns to the registered URI with state', async () => {
    const { browser, idToken } = await signedInWithIdToken();
    const page = await browser.get(
      `/logout?id_token_hint=${idToken}&post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=abc`,
    );
    expect(page.status).toBe(303);
    expect(page.location).toBe(`${BYE}?state=abc`);
    expect(await signedIn(browser)).toBe(false);
  });

  it('the ID token carries the session id (sid) the logout checks', async () => {
    const { idToken, sid } = await signedInWithIdToken();
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${server.url}/jwks`)));
    expect(payload.sid).toBe(sid);
  });

  it('asks first when the request cannot be trusted, and signs out on "Sign out"', async () => {
    const { client, browser } = await signedInWithIdToken();
    const page = await browser.get(
      `/logout?client_id=${client.id}&post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=s2`,
    );
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign out?');
    expect(page.text).toContain(client.name);
    expect(await signedIn(browser)).toBe(true);
    const done = await browser.submit(page, {}, 'Sign out');
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${BYE}?state=s2`);
    expect(await signedIn(browser)).toBe(false);
  });

  it('"Stay signed in" keeps the session', async () => {
    const { browser } = await signedInWithIdToken();
    const page = await browser.get('/logout');
    const stay = await browser.submit(page, {}, 'Stay signed in');
    expect(stay.status).toBe(303);
    expect(await signedIn(browser)).toBe(true);
  });

  it("an id_token_hint of another person's session asks instead of signing out", async () => {
    const other = await signedInWithIdToken();
    const { browser } = await signedInWithIdToken();
    const page = await browser.get(`/logout?id_token_hint=${other.idToken}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign out?');
    expect(await signedIn(browser)).toBe(true);
  });

  it('refuses an unregistered post_logout_redirect_uri with a page, never a redirect', async () => {
    const { browser, idToken } = await signedInWithIdToken();
    const page = await browser.get(
      `/logout?id_token_hint=${idToken}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    );
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(await signedIn(browser)).toBe(true);
  });

  it('refuses a post_logout_redirect_uri without a client to check it against', async () => {
    const browser = new Browser(server.url);
    const page = await browser.get(`/logout?post_logout_redirect_uri=${encodeURIComponent(BYE)}`);
    expect(page.status).toBe(400);
  });

  it('refuses a client_id that does not match the id_token_hint', async () => {
    const { browser, idToken } = await signedInWithIdToken();
    const { client: other } = await makeClient(ctx, { postLogoutRedirectUris: [BYE] });
    const page = await browser.get(`/logout?id_token_hint=${idToken}&client_id=${other.id}`);
    expect(page.status).toBe(400);
  });

  it('refuses a forged id_token_hint', async () => {
    const { browser, idToken } = await signedInWithIdToken();
    const [h, p] = idToken.split('.');
    const page = await browser.get(`/logout?id_token_hint=${h}.${p}.AAAA`);
    expect(page.status).toBe(400);
    expect(await signedIn(browser)).toBe(true);
  });

  it('without a session shows the signed-out page (or returns to the client)', async () => {
    const { client } = await makeClient(ctx, { postLogoutRedirectUris: [BYE] });
    const browser = new Browser(server.url);
    const page = await browser.get('/logout');
    expect(page.status).toBe(200);
    expect(page.text).toContain('You are signed out');
    const back = await browser.get(
      `/logout?client_id=${client.id}&post_logout_redirect_uri=${encodeURIComponent(BYE)}`,
    );
    expect(back.location).toBe(BYE);
  });

  it('the sign-out button of our pages signs out and goes to the sign-in page', async () => {
    const { browser } = await signedInWithIdToken();
    const account = await browser.get('/account');
    const form = readForms(account.text, account.url).find((f) => f.action.endsWith('/logout'))!;
    const done = await browser.post(form.action, form.fields);
    expect(done.status).toBe(303);
    expect(new URL(done.location!).pathname).toBe('/login');
    expect(await signedIn(browser)).toBe(false);
  });

  it('POSTs a logout token to each client of the session that registered a backchannel_logout_uri', async () => {
    const receiver = await backchannelReceiver();
    try {
      const { client, user, browser, idToken, sid } = await signedInWithIdToken({
        backchannelLogoutUri: receiver.url,
      });
      // A second client in the same session without a back-channel URI is simply skipped.
      const { client: quiet } = await makeClient(ctx);
      await obtainCode(browser, quiet);

      await browser.get(`/logout?id_token_hint=${idToken}`);
      // Sent in the background, after the sign-out answered.
      await ctx.background.drain();
      expect(receiver.received).toHaveLength(1);
      const { payload, protectedHeader } = await jwtVerify(
        receiver.received[0]!,
        createRemoteJWKSet(new URL(`${server.url}/jwks`)),
        { issuer: server.url, audience: client.id, typ: 'logout+jwt' },
      );
      expect(protectedHeader.typ).toBe('logout+jwt');
      expect(payload.sub).toBe(user.id);
      expect(payload.sid).toBe(sid);
      expect(payload.jti).toBeTruthy();
      expect(payload.nonce).toBeUndefined();
      expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    } finally {
      await receiver.close();
    }
  });

  it('a session ended from the account page also sends the back-channel logout', async () => {
    const receiver = await backchannelReceiver();
    try {
      const { user, browser, sid } = await signedInWithIdToken({
        backchannelLogoutUri: receiver.url,
      });
      // Another browser of the same person ends this one.
      const other = new Browser(server.url);
      await signInBrowser(ctx, other, user);
      const account = await other.get('/account');
      expect(account.text).toContain('Sessions');
      const form = readForms(account.text, account.url).find((f) => f.fields.session_id === sid)!;
      const done = await other.post(form.action, form.fields);
      expect(done.status).toBe(303);
      expect(await signedIn(browser)).toBe(false);
      expect(await signedIn(other)).toBe(true);
      await ctx.background.drain();
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a back-channel endpoint that is down does not stop the sign-out', async () => {
    const { browser, idToken } = await signedInWithIdToken({
      backchannelLogoutUri: 'http://127.0.0.1:9/nothing',
    });
    const page = await browser.get(`/logout?id_token_hint=${idToken}`);
    expect(page.status).toBe(200);
    expect(await signedIn(browser)).toBe(false);
  });
});

describe('sessions on the account page', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  it('lists every session of the person, marks this one, and ends all the others', async () => {
    const { user } = await makeUser(ctx);
    const browsers = [new Browser(server.url), new Browser(server.url), new Browser(server.url)];
    for (const b of browsers) await signInBrowser(ctx, b, user);
    const [me, second, third] = browsers as [Browser, Browser, Browser];
    const account = await me.get('/account');
    expect(account.text).toContain('(this browser)');
    expect(
      readForms(account.text, account.url).filter((f) =>
        f.action.endsWith('/account/sessions/end'),
      ),
    ).toHaveLength(2);
    const endAll = await me.submit(account, {}, 'End all other sessions');
    expect(endAll.status).toBe(303);
    expect((await second.get('/account')).status).toBe(303);
    expect((await third.get('/account')).status).toBe(303);
    expect((await me.get('/account')).status).toBe(200);
  });

  it("cannot end another person's session", async () => {
    const victim = await makeUser(ctx);
    const victimBrowser = new Browser(server.url);
    const sid = await signInBrowser(ctx, victimBrowser, victim.user);
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const account = await browser.get('/account');
    const csrf = readForms(account.text, account.url)[0]!.fields._csrf!;
    const res = await browser.post('/account/sessions/end', { _csrf: csrf, session_id: sid });
    expect(res.status).toBe(404);
    expect((await victimBrowser.get('/account')).status).toBe(200);
  });
});
