import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { redactedUrl } from '../../src/http/log.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  basicAuth,
  makeClient,
  makeUser,
  obtainTokens,
  postForm,
  refresh,
  userinfo,
} from '../helpers/oauth.js';

/**
 * Issue 9: ID tokens, tokens, secrets and id_token_hint are never written to the logs in full.
 * A real server at info level, its JSON log lines captured, is sent every kind of credential
 * in every place a request can carry one.
 */
describe('request logs', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    server = await startServer({
      env: { LOG_LEVEL: 'info' },
      logger: pino({ level: 'info' }, sink),
    });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  it('holds none of the tokens, secrets or hints a session of requests carried', async () => {
    const tc = await makeClient(ctx);
    const { user, password } = await makeUser(ctx);
    const tokens = await obtainTokens(server.url, ctx, tc, user);
    await userinfo(server.url, tokens.access_token);
    const refreshed = await refresh(server.url, tc, tokens.refresh_token!);
    await postForm(
      server.url,
      '/introspect',
      { token: tokens.access_token },
      { authorization: basicAuth(tc.client.id, tc.secret!) },
    );
    // Hints and tokens in query strings, where a careless request puts them.
    const browser = new Browser(server.url);
    await browser.get(`/logout?id_token_hint=${tokens.id_token}&state=s3cr3t-state`);
    await browser.get(`/userinfo?access_token=${tokens.access_token}`);
    await browser.get(
      `/login?return_to=${encodeURIComponent(`/authorize?id_token_hint=${tokens.id_token}`)}`,
    );
    const login = await browser.get('/login');
    await browser.submit(
      login,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );

    const log = lines.join('');
    expect(log).toContain('"url":"/logout?id_token_hint=[redacted]');
    for (const secret of [
      tokens.access_token,
      tokens.refresh_token!,
      tokens.id_token!,
      String(refreshed.body.access_token),
      String(refreshed.body.refresh_token),
      tc.secret!,
      password,
      's3cr3t-state',
    ]) {
      expect(log).not.toContain(secret);
      // Nor any long piece of it.
      if (secret.length >= 40) expect(log).not.toContain(secret.slice(10, 40));
    }
  });

  it('keeps the values of parameters that only name things, for debugging', () => {
    expect(
      redactedUrl('/authorize?client_id=abc&scope=openid%20email&code_challenge=xyz&state=s'),
    ).toBe(
      '/authorize?client_id=abc&scope=openid%20email&code_challenge=[redacted]&state=[redacted]',
    );
    expect(redactedUrl('/healthz')).toBe('/healthz');
  });
});
