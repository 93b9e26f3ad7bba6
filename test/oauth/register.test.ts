import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueInitialToken } from '../../src/domain/registration-tokens.js';
import { type RunningServer, startServer, testApp } from '../helpers/app.js';
import { expectOAuthError, type HttpAnswer, postJson, postRaw } from '../helpers/oauth.js';

/** RFC 7591 / RFC 7592 at a listening Tessera: what /register takes, answers and refuses. */

const MCP_LIKE = {
  redirect_uris: ['http://localhost:33418/callback'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_name: 'An MCP client',
};

async function call(
  server: RunningServer,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<HttpAnswer> {
  const res = await fetch(new URL(path, server.url), {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {}, text };
}

const register = (server: RunningServer, body: unknown, token?: string) =>
  postJson(server.url, '/register', body, token ? { authorization: `Bearer ${token}` } : {});

describe('dynamic client registration when off (the default)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('answers 404 at /register and /register/{id}, and discovery has no registration_endpoint', async () => {
    expect((await register(server, MCP_LIKE)).status).toBe(404);
    expect((await call(server, 'GET', '/register/abc', 'x')).status).toBe(404);
    const metadata = await call(server, 'GET', '/.well-known/openid-configuration');
    expect(metadata.body).not.toHaveProperty('registration_endpoint');
  });
});

describe('dynamic client registration, open', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TESSERA_REGISTRATION: 'open', TESSERA_REGISTRATION_RATE_LIMIT: '1000' },
    });
  });
  afterAll(async () => server.close());

  it('is advertised by both metadata documents', async () => {
    for (const path of [
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
    ]) {
      expect((await call(server, 'GET', path)).body.registration_endpoint).toBe(
        `${server.url}/register`,
      );
    }
  });

  it('registers a public MCP-like client: 201, no secret, a registration access token, every value as stored', async () => {
    const res = await register(server, MCP_LIKE);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = res.body;
    expect(body).toMatchObject({
      ...MCP_LIKE,
      application_type: 'web',
      scope: 'openid profile email offline_access',
      registration_client_uri: `${server.url}/register/${body.client_id}`,
    });
    expect(body).not.toHaveProperty('client_secret');
    expect(body.registration_access_token).toMatch(/^[\w-]{43}$/);
    expect(typeof body.client_id_issued_at).toBe('number');
    const client = await server.app.tessera.store.clients.findById(body.client_id as string);
    expect(client).toMatchObject({
      registration: 'dynamic',
      type: 'public',
      firstParty: false,
      resourceServer: false,
      requirePkce: true,
    });
    // Only the hash of the registration access token is kept.
    const record = await server.app.tessera.store.registrations.findRecord(client!.id);
    expect(record?.accessTokenHash).not.toBe(body.registration_access_token);
  });

  it('gives a confidential client a secret that never expires, with RFC 7591 defaults', async () => {
    const res = await register(server, { redirect_uris: ['https://app.example.com/cb'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      client_secret_expires_at: 0,
      client_name: 'Unnamed app (app.example.com)',
    });
    expect(res.body.client_secret).toMatch(/^[\w-]{43}$/);
  });

  it('ignores first_party, resource_server and other admin-only members', async () => {
    const res = await register(server, {
      ...MCP_LIKE,
      token_endpoint_auth_method: 'client_secret_basic',
      first_party: true,
      resource_server: true,
      require_pkce: false,
      access_token_format: 'opaque',
      jwt_bearer_subjects: ['someone'],
      token_exchange_audiences: ['https://api.example.com'],
      client_type: 'public',
      software_id: 'unknown member',
    });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('first_party');
    expect(res.body).not.toHaveProperty('software_id');
    const client = await server.app.tessera.store.clients.findById(res.body.client_id as string);
    expect(client).toMatchObject({
      firstParty: false,
      resourceServer: false,
      requirePkce: true,
      accessTokenFormat: 'jwt',
      jwtBearerSubjects: [],
      tokenExchangeAudiences: [],
      type: 'confidential',
    });
  });

  it.each([
    ['http on a host that is not loopback', 'http://app.example.com/cb', 'must use https'],
    ['a fragment', 'https://app.example.com/cb#frag', 'must not have a fragment'],
    ['javascript:', 'javascript:alert(1)', 'javascript: scheme'],
    ['a private-use scheme for a web app', 'com.example.app:/cb', 'application_type "native"'],
    ['a wildcard', 'https://*.example.com/cb', 'must not contain "*"'],
  ])('refuses a redirect URI with %s: invalid_redirect_uri', async (_what, uri, message) => {
    const res = await register(server, { ...MCP_LIKE, redirect_uris: [uri] });
    expectOAuthError(res, 400, 'invalid_redirect_uri');
    expect(res.body.error_description).toContain(message);
  });

  it('drops scopes outside the policy (RFC 7591 §2), as an MCP client asks for its API’s', async () => {
    const res = await register(server, { ...MCP_LIKE, scope: 'openid notes:read admin openid' });
    expect(res.status).toBe(201);
    expect(res.body.scope).toBe('openid');
    const only = await register(server, { ...MCP_LIKE, scope: 'notes:read' });
    expect(only.status).toBe(201);
    expect(only.body.scope).toBe('');
  });

  it('registers a private_key_jwt client with its public keys, and no secret', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const res = await register(server, {
      redirect_uris: ['https://pk.example.com/cb'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [jwk] },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).not.toHaveProperty('client_secret');
    expect(res.body.jwks).toEqual({ keys: [jwk] });
    // A private key is refused.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const leaked = await register(server, {
      redirect_uris: ['https://pk.example.com/cb'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [await exportJWK(privateKey)] },
    });
    expectOAuthError(leaked, 400, 'invalid_client_metadata');
  });

  it('PUT from a public client to client_secret_basic answers the new secret once', async () => {
    const made = (await register(server, MCP_LIKE)).body;
    const res = await call(
      server,
      'PUT',
      `/register/${made.client_id}`,
      made.registration_access_token as string,
      { ...MCP_LIKE, client_id: made.client_id, token_endpoint_auth_method: 'client_secret_basic' },
    );
    expect(res.status).toBe(200);
    expect(res.body.client_secret).toMatch(/^[\w-]{43}$/);
    expect(res.body.client_secret_expires_at).toBe(0);
    // With that secret, a later PUT may send it; a GET never shows it.
    const again = await call(
      server,
      'PUT',
      `/register/${made.client_id}`,
      made.registration_access_token as string,
      {
        ...MCP_LIKE,
        client_id: made.client_id,
        client_secret: res.body.client_secret,
        token_endpoint_auth_method: 'client_secret_basic',
      },
    );
    expect(again.status, again.text).toBe(200);
    expect(again.body).not.toHaveProperty('client_secret');
  });

  it('takes a private-use scheme and any loopback port from a native app', async () => {
    const res = await register(server, {
      ...MCP_LIKE,
      application_type: 'native',
      redirect_uris: ['com.example.app:/callback', 'http://127.0.0.1/callback'],
    });
    expect(res.status).toBe(201);
    expect(res.body.application_type).toBe('native');
  });

  it.each([
    [{ grant_types: ['client_credentials'] }, 'grant_types: "client_credentials" is not allowed'],
    [{ grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] }, 'grant_types'],
    [{ scope: 'openid "quoted"' }, 'is not a valid scope'],
    [{ response_types: ['code id_token'] }, 'response_types'],
    [{ token_endpoint_auth_method: 'client_secret_jwt' }, 'token_endpoint_auth_method'],
    [{ token_endpoint_auth_method: 'private_key_jwt' }, 'jwks'],
    [{ application_type: 'desktop' }, 'application_type'],
    [{ client_name: 'x'.repeat(101) }, 'client_name'],
    [{ redirect_uris: 'https://app.example.com/cb' }, 'redirect_uris must be a list'],
    [{ contacts: ['a@example.com'], grant_types: 'authorization_code' }, 'grant_types'],
    [{ default_max_age: 'forever' }, 'default_max_age'],
  ])('refuses metadata outside the policy or malformed: %j', async (change, message) => {
    const res = await register(server, { ...MCP_LIKE, ...change });
    expectOAuthError(res, 400, 'invalid_client_metadata');
    expect(res.body.error_description).toContain(message);
  });

  it('refuses a body that is not a JSON object, or not JSON', async () => {
    expectOAuthError(await register(server, ['a']), 400, 'invalid_client_metadata');
    const form = await postRaw(
      server.url,
      '/register',
      'client_name=x',
      'application/x-www-form-urlencoded',
    );
    expectOAuthError(form, 400, 'invalid_request');
  });

  it('refuses a body over 16 KiB with 413', async () => {
    const res = await register(server, { ...MCP_LIKE, padding: 'x'.repeat(17 * 1024) });
    expectOAuthError(res, 413, 'invalid_request');
    expect(res.body.error_description).toBe('request body is larger than 16 KiB');
  });

  describe('RFC 7592: the registration access token', () => {
    let a: Record<string, unknown>;
    let b: Record<string, unknown>;
    beforeAll(async () => {
      a = (await register(server, { ...MCP_LIKE, client_name: 'A' })).body;
      b = (await register(server, { ...MCP_LIKE, client_name: 'B' })).body;
    });
    const path = (c: Record<string, unknown>) => `/register/${c.client_id}`;

    it('reads the registration with its own token, without the token in the answer', async () => {
      const res = await call(server, 'GET', path(a), a.registration_access_token as string);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ client_id: a.client_id, client_name: 'A' });
      expect(res.body).not.toHaveProperty('registration_access_token');
    });

    it.each(['GET', 'PUT', 'DELETE'])(
      '%s: a missing, wrong or other client’s token is 401 invalid_token',
      async (method) => {
        const body = method === 'PUT' ? { ...MCP_LIKE, client_id: a.client_id } : undefined;
        for (const token of [undefined, 'wrong', b.registration_access_token as string]) {
          const res = await call(server, method, path(a), token, body);
          expectOAuthError(res, 401, 'invalid_token');
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
        }
        // An unknown client is refused the same way (RFC 7592 §3).
        const unknown = await call(
          server,
          method,
          '/register/nobody',
          a.registration_access_token as string,
          body,
        );
        expectOAuthError(unknown, 401, 'invalid_token');
        expect((await server.app.tessera.store.clients.findById(a.client_id as string))?.name).toBe(
          'A',
        );
      },
    );

    it('PUT replaces the metadata; client_id must match and a client_secret must be the client’s', async () => {
      const token = a.registration_access_token as string;
      expectOAuthError(
        await call(server, 'PUT', path(a), token, { ...MCP_LIKE, client_id: b.client_id }),
        400,
        'invalid_client_metadata',
      );
      expectOAuthError(
        await call(server, 'PUT', path(a), token, MCP_LIKE),
        400,
        'invalid_client_metadata',
      );
      expectOAuthError(
        await call(server, 'PUT', path(a), token, {
          ...MCP_LIKE,
          client_id: a.client_id,
          client_secret: 'guess',
        }),
        400,
        'invalid_client_metadata',
      );
      expectOAuthError(
        await call(server, 'PUT', path(a), token, {
          client_id: a.client_id,
          redirect_uris: ['http://evil.example.com/cb'],
          token_endpoint_auth_method: 'none',
        }),
        400,
        'invalid_redirect_uri',
      );
      const res = await call(server, 'PUT', path(a), token, {
        client_id: a.client_id,
        client_name: 'A, renamed',
        redirect_uris: ['https://a.example.com/cb'],
        token_endpoint_auth_method: 'none',
        scope: 'openid',
        first_party: true,
      });
      expect(res.status).toBe(200);
      // Replaced whole: grant_types went back to its default.
      expect(res.body).toMatchObject({
        client_name: 'A, renamed',
        redirect_uris: ['https://a.example.com/cb'],
        grant_types: ['authorization_code'],
        scope: 'openid',
      });
      const client = await server.app.tessera.store.clients.findById(a.client_id as string);
      expect(client).toMatchObject({
        name: 'A, renamed',
        firstParty: false,
        registration: 'dynamic',
      });
    });

    it('DELETE removes the client and its token; then everything is 401', async () => {
      const token = b.registration_access_token as string;
      const res = await call(server, 'DELETE', path(b), token);
      expect(res.status).toBe(204);
      expect(
        await server.app.tessera.store.clients.findById(b.client_id as string),
      ).toBeUndefined();
      expect(
        await server.app.tessera.store.registrations.findRecord(b.client_id as string),
      ).toBeUndefined();
      expectOAuthError(await call(server, 'GET', path(b), token), 401, 'invalid_token');
    });
  });
});

describe('dynamic client registration with initial access tokens', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TESSERA_REGISTRATION: 'token', TESSERA_REGISTRATION_RATE_LIMIT: '1000' },
    });
  });
  afterAll(async () => server.close());

  it('refuses a registration without a token, or with an unknown one: 401 invalid_token', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const res = await register(server, MCP_LIKE, token);
      expectOAuthError(res, 401, 'invalid_token');
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('takes a token for as many registrations as it allows, and no more', async () => {
    const { token } = await issueInitialToken(server.app.tessera, { uses: 2 });
    expect((await register(server, MCP_LIKE, token)).status).toBe(201);
    // A refused registration spends no use.
    expectOAuthError(
      await register(server, { ...MCP_LIKE, grant_types: ['client_credentials'] }, token),
      400,
      'invalid_client_metadata',
    );
    expect((await register(server, MCP_LIKE, token)).status).toBe(201);
    const used = await register(server, MCP_LIKE, token);
    expectOAuthError(used, 401, 'invalid_token');
    expect(used.body.error_description).toContain('used up');
  });

  it('refuses an expired token', async () => {
    const ctx = server.app.tessera;
    const { token, record } = await issueInitialToken(ctx, { expiresIn: 60 });
    // As if issued two minutes ago.
    await ctx.store.registrations.deleteInitialToken(record.id);
    await ctx.store.registrations.createInitialToken({
      ...record,
      createdAt: record.createdAt - 120,
      expiresAt: record.createdAt - 60,
    });
    const res = await register(server, MCP_LIKE, token);
    expectOAuthError(res, 401, 'invalid_token');
    expect(res.body.error_description).toContain('expired');
  });

  it('spends the last use of a token once among concurrent registrations', async () => {
    const { token } = await issueInitialToken(server.app.tessera, { uses: 1 });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => register(server, MCP_LIKE, token)),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(4);
  });
});

describe('the registration quota per address', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TESSERA_REGISTRATION: 'open', TESSERA_REGISTRATION_RATE_LIMIT: '3' },
    });
  });
  afterAll(async () => server.close());

  it('takes the Nth request and answers the N+1th with 429 and Retry-After', async () => {
    expect((await register(server, MCP_LIKE)).status).toBe(201);
    // A refused request counts too.
    expect((await register(server, { ...MCP_LIKE, response_types: ['token'] })).status).toBe(400);
    expect((await register(server, MCP_LIKE)).status).toBe(201);
    const over = await register(server, MCP_LIKE);
    expectOAuthError(over, 429, 'too_many_requests');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(3500);
  });

  it('counts an IPv6 client by its /64, as the other per-address limits do', async () => {
    const app = await testApp({
      env: { TESSERA_REGISTRATION: 'open', TESSERA_REGISTRATION_RATE_LIMIT: '2' },
    });
    try {
      const post = (remoteAddress: string) =>
        app.inject({ method: 'POST', url: '/register', remoteAddress, payload: MCP_LIKE });
      // Three addresses of one /64, as one subscriber holds them: two registrations in all.
      expect((await post('2001:db8:7:1::a')).statusCode).toBe(201);
      expect((await post('2001:db8:7:1:ffff:1:2:3')).statusCode).toBe(201);
      expect((await post('2001:db8:7:1::b')).statusCode).toBe(429);
      // A neighbouring /64 is counted apart.
      expect((await post('2001:db8:7:2::a')).statusCode).toBe(201);
    } finally {
      await app.close();
    }
  });
});

const redisUrl = process.env.TEST_REDIS_URL;

describe.skipIf(!redisUrl)('the registration quota across instances sharing Redis', () => {
  it('counts the registrations of one address at every instance together', async () => {
    const env = {
      TESSERA_REGISTRATION: 'open',
      TESSERA_REGISTRATION_RATE_LIMIT: '2',
      TESSERA_REDIS_URL: redisUrl!,
      TESSERA_RATE_LIMIT_PREFIX: `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`,
    };
    const [one, two] = [await testApp({ env }), await testApp({ env })];
    try {
      const post = (app: typeof one, remoteAddress: string) =>
        app.inject({ method: 'POST', url: '/register', remoteAddress, payload: MCP_LIKE });
      expect((await post(one, '198.51.100.7')).statusCode).toBe(201);
      expect((await post(two, '198.51.100.7')).statusCode).toBe(201);
      const over = await post(one, '198.51.100.7');
      expect(over.statusCode).toBe(429);
      expect(over.headers['retry-after']).toBeDefined();
      // Another address has its own count.
      expect((await post(two, '198.51.100.8')).statusCode).toBe(201);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
