import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { ResourceOptions } from '../../src/resource/index.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { makeClient, postAsClient, type TestClient } from '../helpers/oauth.js';
import { callApi, FLAVORS, startApi, type TestApi } from '../helpers/resource.js';

/*
 * The kit as an API uses it, three ways (Fastify plugin, node:http, Express), against a real
 * listening Tessera that issues real tokens. The verifier's finer cases (forgeries, key
 * rotation, introspection) are in jwt.test.ts and introspection.test.ts.
 */
describe.each(FLAVORS)('the kit in a %s API', (flavor) => {
  let tessera: RunningServer;
  let ctx: AppContext;
  let api: TestApi;
  let service: TestClient;
  let options: ResourceOptions;
  let metadataUrl: string;
  const clock = new FrozenClock();

  beforeAll(async () => {
    tessera = await startServer({ clock });
    ctx = tessera.app.tessera;
    // Until APIs are registered objects, tokens carry the default audience: the issuer.
    options = {
      issuer: tessera.url,
      resource: tessera.url,
      scopesSupported: ['notes:read', 'notes:write'],
      resourceName: 'Notes API',
      now: () => clock.now(),
    };
    metadataUrl = `${tessera.url}/.well-known/oauth-protected-resource`;
    api = await startApi(flavor, options);
    service = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: ['notes:read', 'notes:write'],
    });
  });
  afterAll(async () => {
    await api?.close();
    await tessera?.close();
  });

  const token = async (scope = 'notes:read') => {
    const res = await postAsClient(tessera.url, '/token', service, {
      grant_type: 'client_credentials',
      scope,
    });
    expect(res.status, res.text).toBe(200);
    return String(res.body.access_token);
  };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('lets a valid JWT access token through and sets req.auth in the MCP SDK AuthInfo shape', async () => {
    const t = await token('notes:read notes:write');
    const res = await callApi(api, '/read', bearer(t));
    expect(res.status, res.text).toBe(200);
    const auth = res.body.auth as Record<string, unknown>;
    expect(auth).toMatchObject({
      token: t,
      clientId: service.client.id,
      scopes: ['notes:read', 'notes:write'],
      // A URL serialised to JSON is its href.
      resource: new URL(tessera.url).href,
      extra: { sub: service.client.id, claims: { iss: tessera.url, aud: tessera.url } },
    });
    expect(auth.expiresAt).toBe(Math.floor(clock.now() / 1000) + 3600);
  });

  it('answers 401 with only resource_metadata when there is no token (RFC 9728 §5.1)', async () => {
    const res = await callApi(api, '/open');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
    expect(res.body).toMatchObject({ error: 'invalid_token' });
    expect(res.body.error_description).toMatch(/access token is required/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers another scheme (Basic) as if there were no token', async () => {
    const res = await callApi(api, '/open', { authorization: 'Basic dXNlcjpwYXNz' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
  });

  it('answers 401 invalid_token with a description for a bad token', async () => {
    const res = await callApi(api, '/open', bearer('eyJhbGciOiJFUzI1NiJ9.e30.c2ln'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"$/,
    );
    expect(res.body.error).toBe('invalid_token');
  });

  it('answers 403 insufficient_scope naming the scope the route needs', async () => {
    const t = await token('notes:read');
    const res = await callApi(api, '/write', bearer(t));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="the access token lacks the scope notes:write", scope="notes:write", resource_metadata="${metadataUrl}"`,
    );
    expect(res.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'the access token lacks the scope notes:write',
    });
  });

  it('answers 400 invalid_request for a malformed Authorization header', async () => {
    for (const authorization of ['Bearer', 'Bearer a b', 'Bearer "quoted"', 'Bearer\ttab']) {
      const res = await callApi(api, '/open', { authorization });
      expect(res.status, authorization).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request"/);
    }
  });

  it('does not accept a token in the query string (400 invalid_request), even a valid one', async () => {
    const t = await token();
    const res = await callApi(api, `/open?access_token=${t}`);
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/not in the query string/);
    // Not even beside a good header: two methods at once (RFC 6750 §2).
    expect((await callApi(api, `/open?access_token=${t}`, bearer(t))).status).toBe(400);
  });

  it('refuses a token whose exp has passed, past the tolerance', async () => {
    const t = await token();
    expect((await callApi(api, '/open', bearer(t))).status).toBe(200);
    clock.advance(3600 + 4);
    try {
      // Within the 5 s tolerance for clocks that differ a little.
      expect((await callApi(api, '/open', bearer(t))).status).toBe(200);
      clock.advance(2);
      const res = await callApi(api, '/open', bearer(t));
      expect(res.status).toBe(401);
      expect(res.body.error_description).toBe('the access token has expired');
    } finally {
      clock.advance(-(3600 + 6));
    }
  });

  it('serves the protected resource metadata at the RFC 9728 path', async () => {
    const res = await callApi(api, '/.well-known/oauth-protected-resource');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      resource: tessera.url,
      authorization_servers: [tessera.url],
      scopes_supported: ['notes:read', 'notes:write'],
      bearer_methods_supported: ['header'],
      resource_name: 'Notes API',
    });
  });
});
