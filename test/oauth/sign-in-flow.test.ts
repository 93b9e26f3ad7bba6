import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
} from '../helpers/oauth.js';

/** The front channel through the real sign-in page: no session shortcuts. */
describe('authorization with the real sign-in page', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const request = (clientId: string, extra: Record<string, string> = {}) =>
    authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: 'st',
      ...extra,
    });

  async function signInThroughPage(
    browser: Browser,
    start: string,
    username: string,
    password: string,
  ) {
    const login = await browser.follow(await browser.get(start));
    expect(new URL(login.url).pathname).toBe('/login');
    const back = await browser.submit(
      login,
      { 'Username or email': username, Password: password },
      'Sign in',
    );
    expect(back.status).toBe(303);
    return browser.follow(back);
  }

  it('signs in, consents, and comes back to the client with a code', async () => {
    const { client } = await makeClient(ctx, { name: 'Pill Reminder' });
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const consent = await signInThroughPage(browser, request(client.id), user.username, password);
    expect(consent.text).toContain('Pill Reminder');
    const done = await browser.submit(consent, {}, 'Allow');
    const params = redirectParams(done);
    expect(params.get('code')).toBeTruthy();
    expect(params.get('state')).toBe('st');
  });

  it('prompt=login makes a signed-in person sign in again, then carries on', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInThroughPage(browser, request(client.id), user.username, password);
    const again = await browser.get(request(client.id, { prompt: 'login' }));
    expect(again.status).toBe(303);
    expect(new URL(again.location!).pathname).toBe('/login');
    const done = await signInThroughPage(
      browser,
      request(client.id, { prompt: 'login' }),
      user.email,
      password,
    );
    expect(done.location?.startsWith(REDIRECT_URI)).toBe(true);
    expect(redirectParams(done).get('code')).toBeTruthy();
  });

  it('max_age=0 asks for a fresh sign-in each time and then succeeds', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const done = await signInThroughPage(
      browser,
      request(client.id, { max_age: '0' }),
      user.username,
      password,
    );
    expect(redirectParams(done).get('code')).toBeTruthy();
    const next = await browser.get(request(client.id, { max_age: '0' }));
    expect(new URL(next.location!).pathname).toBe('/login');
  });

  it('passes login_hint to the sign-in page', async () => {
    const { client } = await makeClient(ctx);
    const browser = new Browser(server.url);
    const login = await browser.follow(
      await browser.get(request(client.id, { login_hint: 'alice@example.com' })),
    );
    expect(login.text).toContain('value="alice@example.com"');
  });

  it('a forged sign-in marker does not skip prompt=login', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInThroughPage(browser, request(client.id), user.username, password);
    const forged = await browser.get(
      request(client.id, { prompt: 'login', tessera_login: '1.forged' }),
    );
    expect(new URL(forged.location!).pathname).toBe('/login');
  });

  /** The resumed authorization request the sign-in page will return to, and its marker. */
  function resumeOf(loginRedirect: string) {
    const returnTo = new URL(loginRedirect).searchParams.get('return_to')!;
    const marker = new URL(returnTo, server.url).searchParams.get('tessera_login')!;
    expect(marker).toBeTruthy();
    return { returnTo, marker };
  }

  it('a sign-in marker works once, for the request it was made for (issue 9)', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { client: other } = await makeClient(ctx, { firstParty: true });
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInThroughPage(browser, request(client.id), user.username, password);

    const asked = await browser.get(request(client.id, { prompt: 'login', state: 'first' }));
    const { returnTo, marker } = resumeOf(asked.location!);
    const login = await browser.get(asked.location!);
    const back = await browser.submit(
      login,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(back.location).toBe(new URL(returnTo, server.url).toString());
    const done = await browser.get(back.location!);
    expect(redirectParams(done).get('code')).toBeTruthy();

    // The same resumed request again: the marker is spent, so prompt=login asks again.
    const replay = await browser.get(returnTo);
    expect(new URL(replay.location!).pathname).toBe('/login');
    // Borrowed by a later request (another state, or max_age=0), or by another client: refused.
    for (const borrowed of [
      request(client.id, { prompt: 'login', state: 'later', tessera_login: marker }),
      request(client.id, { max_age: '0', tessera_login: marker }),
      request(other.id, { prompt: 'login', state: 'first', tessera_login: marker }),
    ]) {
      const res = await browser.get(borrowed);
      expect(new URL(res.location!).pathname, borrowed).toBe('/login');
    }
  });

  it('a marker is not carried to the sign-in page with other parameters the link held', async () => {
    const { client } = await makeClient(ctx);
    const res = await new Browser(server.url).get(
      request(client.id, { prompt: 'login', evil: 'https://evil.example', utm_source: 'x' }),
    );
    const { returnTo } = resumeOf(res.location!);
    const resumed = new URL(returnTo, server.url).searchParams;
    expect(resumed.get('evil')).toBeNull();
    expect(resumed.get('utm_source')).toBeNull();
    expect(resumed.get('client_id')).toBe(client.id);
  });
});

describe('sign-in markers expire', () => {
  it('a marker older than ten minutes does not satisfy prompt=login', async () => {
    const clock = new FrozenClock();
    const server = await startServer({ clock });
    try {
      const ctx = server.app.tessera;
      const { client } = await makeClient(ctx, { firstParty: true });
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      const path = authorizePath({
        response_type: 'code',
        client_id: client.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        prompt: 'login',
      });
      const asked = await browser.get(path);
      const returnTo = new URL(asked.location!).searchParams.get('return_to')!;
      clock.advance(601);
      await signInBrowser(ctx, browser, user);
      const late = await browser.get(returnTo);
      expect(new URL(late.location!).pathname).toBe('/login');
    } finally {
      await server.close();
    }
  });
});
