import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  REDIRECT_URI,
  redirectParams,
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
});
