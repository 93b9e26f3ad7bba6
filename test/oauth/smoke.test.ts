import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  basicAuth,
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postForm,
  signInBrowser,
} from '../helpers/oauth.js';

describe('code flow smoke', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('issues a code, exchanges it, calls userinfo, refreshes and revokes', async () => {
    const ctx = server.app.tessera;
    const { client, secret } = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { verifier, challenge } = pkce();
    const code = await obtainCode(browser, client, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n1',
    });
    const token = await postForm(
      server.url,
      '/token',
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: client.redirectUris[0],
        code_verifier: verifier,
      },
      { authorization: basicAuth(client.id, secret!) },
    );
    expect(token.status, token.text).toBe(200);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const at = await jwtVerify(String(token.body.access_token), jwks, {
      issuer: server.url,
      typ: 'at+jwt',
    });
    expect(at.payload.sub).toBe(user.id);
    const idt = await jwtVerify(String(token.body.id_token), jwks, {
      issuer: server.url,
      audience: client.id,
    });
    expect(idt.payload.nonce).toBe('n1');
    const info = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${token.body.access_token}` },
    });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({
      sub: user.id,
      email: user.email,
      preferred_username: user.username,
    });
    const refreshed = await postForm(
      server.url,
      '/token',
      { grant_type: 'refresh_token', refresh_token: String(token.body.refresh_token) },
      { authorization: basicAuth(client.id, secret!) },
    );
    expect(refreshed.status, refreshed.text).toBe(200);
    const revoke = await postForm(
      server.url,
      '/revoke',
      { token: String(refreshed.body.refresh_token) },
      { authorization: basicAuth(client.id, secret!) },
    );
    expect(revoke.status).toBe(200);
    const intro = await postForm(
      server.url,
      '/introspect',
      { token: String(refreshed.body.access_token) },
      { authorization: basicAuth(client.id, secret!) },
    );
    expect(intro.body).toEqual({ active: false });
    const info2 = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${refreshed.body.access_token}` },
    });
    expect(info2.status).toBe(401);
    expect(info2.headers.get('www-authenticate')).toContain('invalid_token');
  });
});
