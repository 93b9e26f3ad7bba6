import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  basicAuth,
  makeClient,
  makeUser,
  obtainCode,
  postForm,
  REDIRECT_URI,
  signInBrowser,
} from '../helpers/oauth.js';

describe('a refused refresh request does not spend the refresh token', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('a wider scope is refused and the same refresh token still works afterwards', async () => {
    const ctx = server.app.tessera;
    const { client, secret } = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const code = await obtainCode(browser, client, { scope: 'openid email' });
    const auth = { authorization: basicAuth(client.id, secret!) };
    const tokens = await postForm(
      server.url,
      '/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
      auth,
    );
    const refreshToken = String(tokens.body.refresh_token);

    const wider = await postForm(
      server.url,
      '/token',
      { grant_type: 'refresh_token', refresh_token: refreshToken, scope: 'openid email phone' },
      auth,
    );
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');

    const again = await postForm(
      server.url,
      '/token',
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      auth,
    );
    expect(again.status).toBe(200);
    expect(again.body.scope).toBe('openid email');
  });
});
