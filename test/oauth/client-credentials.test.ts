import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import {
  expectOAuthError,
  introspect,
  makeClient,
  postAsClient,
  postForm,
  postJson,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';

describe('/token with grant_type=client_credentials (RFC 6749 §4.4)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  /** A confidential client allowed client_credentials, with custom scopes next to OIDC ones. */
  const service = (overrides: Partial<Client> = {}) =>
    makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: ['api:read', 'api:write', 'openid', 'profile'],
      ...overrides,
    });

  const ccToken = (tc: TestClient, form: Record<string, string | undefined> = {}) =>
    postAsClient(server.url, '/token', tc, { grant_type: 'client_credentials', ...form });

  it('gives an access token only, with the client’s own non-OIDC scopes by default, not cached', async () => {
    const tc = await service();
    const res = await ccToken(tc);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'api:read api:write',
    });
    expect(typeof res.body.access_token).toBe('string');
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.id_token).toBeUndefined();
  });

  it('the token is an RFC 9068 JWT whose sub is the client itself', async () => {
    const tc = await service();
    const res = await ccToken(tc);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(String(res.body.access_token), jwks, {
      issuer: server.url,
      audience: server.url,
      typ: 'at+jwt',
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({
      sub: tc.client.id,
      client_id: tc.client.id,
      scope: 'api:read api:write',
    });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('a narrower scope works', async () => {
    const tc = await service();
    const res = await ccToken(tc, { scope: 'api:read' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('api:read');
  });

  it('client_secret_post and a JSON body work too', async () => {
    const tc = await service({ tokenEndpointAuthMethod: 'client_secret_post' });
    const post = await postForm(server.url, '/token', {
      grant_type: 'client_credentials',
      client_id: tc.client.id,
      client_secret: tc.secret,
    });
    expect(post.status, post.text).toBe(200);
    const json = await postJson(server.url, '/token', {
      grant_type: 'client_credentials',
      client_id: tc.client.id,
      client_secret: tc.secret,
      scope: 'api:write',
    });
    expect(json.status, json.text).toBe(200);
    expect(json.body.scope).toBe('api:write');
  });

  it('openid, or any scope that releases a person’s claims, is invalid_scope', async () => {
    const tc = await service();
    for (const scope of ['openid', 'api:read openid', 'profile', 'offline_access']) {
      expectOAuthError(await ccToken(tc, { scope }), 400, 'invalid_scope');
    }
  });

  it('a scope not registered for the client is invalid_scope', async () => {
    const tc = await service();
    for (const scope of ['api:admin', 'api:read api:admin', 'bad"scope']) {
      expectOAuthError(await ccToken(tc, { scope }), 400, 'invalid_scope');
    }
  });

  it('a public client is unauthorized_client', async () => {
    const tc = await makeClient(ctx, {
      type: 'public',
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
    });
    expectOAuthError(await ccToken(tc), 400, 'unauthorized_client');
  });

  it('a public client trying a secret cannot authenticate: 401 invalid_client', async () => {
    const tc = await makeClient(ctx, {
      type: 'public',
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
    });
    const res = await postForm(server.url, '/token', {
      grant_type: 'client_credentials',
      client_id: tc.client.id,
      client_secret: 'guess',
    });
    expectOAuthError(res, 401, 'invalid_client');
  });

  it('a confidential client not allowed the grant is unauthorized_client', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'api:read'] });
    expectOAuthError(await ccToken(tc), 400, 'unauthorized_client');
  });

  it('a wrong secret is 401 invalid_client', async () => {
    const tc = await service();
    expectOAuthError(await ccToken({ client: tc.client, secret: 'wrong' }), 401, 'invalid_client');
  });

  it('the token introspects as active with sub = client_id and no username', async () => {
    const tc = await service();
    const token = String((await ccToken(tc)).body.access_token);
    const res = await introspect(server.url, tc, token);
    expect(res.body).toMatchObject({
      active: true,
      client_id: tc.client.id,
      sub: tc.client.id,
      scope: 'api:read api:write',
      token_type: 'Bearer',
      iss: server.url,
      aud: server.url,
    });
    expect(res.body.username).toBeUndefined();
    // A resource server sees it too; another client does not.
    const rs = await service({ resourceServer: true });
    expect((await introspect(server.url, rs, token)).body.active).toBe(true);
    const other = await service();
    expect((await introspect(server.url, other, token)).body).toEqual({ active: false });
  });

  it('the token is refused at /userinfo', async () => {
    const tc = await service();
    const token = String((await ccToken(tc)).body.access_token);
    const res = await userinfo(server.url, token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('expires like any access token (frozen clock)', async () => {
    const tc = await service();
    const token = String((await ccToken(tc)).body.access_token);
    clock.advance(3600);
    expect((await introspect(server.url, tc, token)).body).toEqual({ active: false });
  });

  it('an opaque-token client gets an opaque token that introspects with sub = client_id', async () => {
    const tc = await service({ accessTokenFormat: 'opaque' });
    const res = await ccToken(tc);
    const token = String(res.body.access_token);
    expect(token.split('.')).toHaveLength(1);
    const intro = await introspect(server.url, tc, token);
    expect(intro.body).toMatchObject({ active: true, sub: tc.client.id, client_id: tc.client.id });
    expect((await userinfo(server.url, token)).status).toBe(401);
  });

  it('stops working when its client is deleted (admin API), like the opaque and person tokens', async () => {
    const tc = await service();
    const token = String((await ccToken(tc)).body.access_token);
    const rs = await service({ resourceServer: true });
    expect((await introspect(server.url, rs, token)).body.active).toBe(true);
    const deleted = await fetch(`${server.url}/admin/api/clients/${tc.client.id}`, {
      method: 'DELETE',
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    expect(deleted.status).toBe(204);
    expect((await introspect(server.url, rs, token)).body).toEqual({ active: false });
  });
});
