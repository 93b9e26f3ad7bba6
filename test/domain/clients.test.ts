import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientInput,
  checkRedirectUri,
  checkScopes,
  createClient,
  deleteClient,
  rotateClientSecret,
  updateClient,
  verifyClientSecret,
} from '../../src/domain/clients.js';
import { ValidationError } from '../../src/domain/errors.js';
import { sha256 } from '../../src/lib/hash.js';
import { testApp } from '../helpers/app.js';

describe('redirect URI rules', () => {
  it.each([
    'https://app.example.com/callback',
    'https://app.example.com/callback?tenant=1',
    'https://app.example.com:8443/cb',
    'http://localhost:3000/callback',
    'http://localhost/callback',
    'http://127.0.0.1:8080/cb',
    'http://[::1]:8080/cb',
    'com.example.app:/oauth2redirect',
    'com.example.app://callback',
  ])('accepts %s', (uri) => {
    expect(checkRedirectUri('redirect_uris', uri)).toBe(uri);
  });

  it.each([
    ['relative/path', 'absolute'],
    ['/callback', 'absolute'],
    ['//app.example.com/cb', 'absolute'],
    ['https:app.example.com/cb', 'absolute'],
    ['https://app.example.com/cb#frag', 'fragment'],
    ['https://app.example.com/cb#', 'fragment'],
    ['http://app.example.com/cb', 'https'],
    ['http://192.168.1.10/cb', 'https'],
    ['http://localhost.evil.example/cb', 'https'],
    ['javascript:alert(1)', 'not allowed'],
    ['data:text/html,hi', 'not allowed'],
    ['file:///etc/passwd', 'not allowed'],
    ['myapp:/cb', 'private-use'],
    [' https://app.example.com/cb', 'spaces'],
    ['https://app.example.com/c b', 'spaces'],
    ['https://app.example.com/cb\n', 'spaces or control'],
    ['', 'non-empty'],
    ['https://user:pass@app.example.com/cb', 'user name or password'],
    ['https://user@app.example.com/cb', 'user name or password'],
    ['https://*.example.com/cb', '"\\*"'],
    ['https://app.example.com/*', '"\\*"'],
    [`https://app.example.com/${'a'.repeat(2100)}`, 'longer'],
  ])('refuses %j', (uri, reason) => {
    expect(() => checkRedirectUri('redirect_uris', uri)).toThrow(ValidationError);
    expect(() => checkRedirectUri('redirect_uris', uri)).toThrow(new RegExp(reason));
  });

  it('names the field it was given', () => {
    expect(() => checkRedirectUri('post_logout_redirect_uris', 'http://a.example/')).toThrow(
      /^post_logout_redirect_uris/,
    );
  });
});

describe('scope syntax (RFC 6749 §3.3)', () => {
  it('accepts custom scopes such as api:read', () => {
    expect(checkScopes(['openid', 'api:read', 'api:write', 'read', 'x'.repeat(100)])).toEqual([
      'openid',
      'api:read',
      'api:write',
      'read',
      'x'.repeat(100),
    ]);
  });

  it.each(['has space', 'quote"d', 'back\\slash', '', 'é', 'tab\there', 'x'.repeat(101)])(
    'refuses %j',
    (scope) => {
      expect(() => checkScopes([scope])).toThrow(ValidationError);
    },
  );

  it('drops duplicates', () => {
    expect(checkScopes(['a', 'a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('registering and changing clients', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => app.close());

  const create = (input: Partial<ClientInput>) =>
    createClient(app.tessera, { name: 'App', redirectUris: ['https://a.example/cb'], ...input });

  /** The field a refused input is blamed on. */
  async function refusal(work: Promise<unknown>): Promise<string> {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  }

  it('gives a confidential client the defaults and a 256-bit secret stored as its SHA-256', async () => {
    const { client, secret } = await create({});
    expect(client).toMatchObject({
      type: 'confidential',
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
      scopes: ['openid', 'profile', 'email', 'phone', 'address', 'offline_access'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      accessTokenFormat: 'jwt',
      idTokenSignedResponseAlg: 'RS256',
    });
    expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
    expect(client.secretHash).toBe(sha256(secret!));
    expect(verifyClientSecret(client, secret!)).toBe(true);
    expect(verifyClientSecret(client, `${secret}x`)).toBe(false);
    expect(verifyClientSecret(client, '')).toBe(false);
  });

  it('makes a client with the "none" method public, without a secret', async () => {
    const { client, secret } = await create({ tokenEndpointAuthMethod: 'none' });
    expect(client.type).toBe('public');
    expect(secret).toBeUndefined();
    expect(client.secretHash).toBeNull();
    expect(verifyClientSecret(client, 'anything')).toBe(false);
    const typed = await create({ type: 'public' });
    expect(typed.client.tokenEndpointAuthMethod).toBe('none');
  });

  it('refuses a public client with a secret method, and a confidential one with "none"', async () => {
    expect(
      await refusal(create({ type: 'public', tokenEndpointAuthMethod: 'client_secret_post' })),
    ).toBe('token_endpoint_auth_method');
    expect(await refusal(create({ type: 'confidential', tokenEndpointAuthMethod: 'none' }))).toBe(
      'token_endpoint_auth_method',
    );
  });

  it('refuses client_credentials for a public client, and unknown grants', async () => {
    expect(await refusal(create({ type: 'public', grantTypes: ['client_credentials'] }))).toBe(
      'grant_types',
    );
    expect(await refusal(create({ grantTypes: ['password'] }))).toBe('grant_types');
    expect(await refusal(create({ grantTypes: ['implicit'] }))).toBe('grant_types');
    expect(await refusal(create({ grantTypes: [] }))).toBe('grant_types');
  });

  it('needs a redirect URI for the code grant, but not for client_credentials alone', async () => {
    expect(await refusal(create({ redirectUris: [] }))).toBe('redirect_uris');
    const service = await create({ redirectUris: [], grantTypes: ['client_credentials'] });
    expect(service.client.grantTypes).toEqual(['client_credentials']);
  });

  it('refuses more than 20 redirect URIs, bad post-logout and back-channel URIs', async () => {
    const many = Array.from({ length: 21 }, (_, i) => `https://a.example/cb${i}`);
    expect(await refusal(create({ redirectUris: many }))).toBe('redirect_uris');
    expect(await refusal(create({ postLogoutRedirectUris: ['http://a.example/'] }))).toBe(
      'post_logout_redirect_uris',
    );
    expect(await refusal(create({ backchannelLogoutUri: 'com.example.app:/logout' }))).toBe(
      'backchannel_logout_uri',
    );
    const loopback = await create({ backchannelLogoutUri: 'http://localhost:4000/bc' });
    expect(loopback.client.backchannelLogoutUri).toBe('http://localhost:4000/bc');
  });

  it('in production, keeps back-channel logout URIs out of loopback, private and link-local networks', async () => {
    const prod = await testApp({
      env: { NODE_ENV: 'production', TESSERA_SMTP_URL: 'smtp://127.0.0.1:9' },
    });
    try {
      const make = (backchannelLogoutUri: string) =>
        createClient(prod.tessera, {
          name: 'App',
          redirectUris: ['https://a.example/cb'],
          backchannelLogoutUri,
        });
      for (const uri of [
        'http://localhost:4000/bc',
        'https://localhost/bc',
        'https://127.0.0.1/bc',
        'https://10.1.2.3/bc',
        'https://172.16.0.1/bc',
        'https://192.168.1.1/bc',
        'https://169.254.169.254/latest/meta-data',
        'https://[::1]/bc',
        'https://[fe80::1]/bc',
        'https://[fd00::1]/bc',
        'https://[::ffff:10.0.0.1]/bc',
        'https://0.0.0.0/bc',
        'https://100.64.0.1/bc',
      ]) {
        expect(await refusal(make(uri)), uri).toBe('backchannel_logout_uri');
      }
      const ok = await make('https://app.example.com/bc');
      expect(ok.client.backchannelLogoutUri).toBe('https://app.example.com/bc');
      const edited = await refusal(
        updateClient(prod.tessera, ok.client.id, { backchannelLogoutUri: 'https://10.0.0.5/bc' }),
      );
      expect(edited).toBe('backchannel_logout_uri');
    } finally {
      await prod.close();
    }
  });

  it('allows only a confidential client to be a resource server', async () => {
    expect(await refusal(create({ type: 'public', resourceServer: true }))).toBe('resource_server');
    const { client } = await create({
      resourceServer: true,
      grantTypes: ['client_credentials'],
      redirectUris: [],
    });
    expect(client.resourceServer).toBe(true);
  });

  it('revokes the refresh tokens of a confidential client made public: they were bound to its secret', async () => {
    const { client } = await create({});
    const ctx = app.tessera;
    const now = Math.floor(Date.now() / 1000);
    const token = (kind: 'access' | 'refresh') => ({
      id: `${kind}-${client.id}`,
      kind,
      format: 'opaque' as const,
      clientId: client.id,
      userId: null,
      grantId: null,
      familyId: null,
      sessionId: null,
      scope: 'openid',
      audience: null,
      authTime: null,
      acr: null,
      amr: null,
      claims: null,
      act: null,
      jkt: null,
      createdAt: now,
      expiresAt: now + 3600,
      familyExpiresAt: null,
      rotatedAt: null,
      revokedAt: null,
    });
    await ctx.store.tokens.saveAll([token('access'), token('refresh')]);
    await updateClient(ctx, client.id, { type: 'public' });
    expect((await ctx.store.tokens.find(`refresh-${client.id}`))?.revokedAt).not.toBeNull();
    expect((await ctx.store.tokens.find(`access-${client.id}`))?.revokedAt).toBeNull();
    // A change that keeps it confidential revokes nothing.
    const other = await create({});
    await ctx.store.tokens.save({
      ...token('refresh'),
      id: `refresh-${other.client.id}`,
      clientId: other.client.id,
    });
    await updateClient(ctx, other.client.id, { name: 'Renamed' });
    expect((await ctx.store.tokens.find(`refresh-${other.client.id}`))?.revokedAt).toBeNull();
  });

  it('refuses unknown response types, token formats and algorithms, naming each field', async () => {
    expect(await refusal(create({ responseTypes: ['token'] }))).toBe('response_types');
    expect(await refusal(create({ accessTokenFormat: 'paseto' }))).toBe('access_token_format');
    expect(await refusal(create({ idTokenSignedResponseAlg: 'HS256' }))).toBe(
      'id_token_signed_response_alg',
    );
    expect(await refusal(create({ userinfoSignedResponseAlg: 'none' }))).toBe(
      'userinfo_signed_response_alg',
    );
    expect(await refusal(create({ name: ' ' }))).toBe('client_name');
    expect(await refusal(create({ name: 'x'.repeat(101) }))).toBe('client_name');
    expect(await refusal(create({ contactEmail: 'not an address' }))).toBe('contact_email');
    expect(await refusal(create({ defaultMaxAge: -1 }))).toBe('default_max_age');
  });

  it('normalises response types written in another order of spaces', async () => {
    const { client } = await create({ responseTypes: ['code  id_token', 'code'] });
    expect(client.responseTypes).toEqual(['code id_token', 'code']);
  });

  it('checks an update against the client as a whole and keeps what it does not name', async () => {
    const { client, secret } = await create({ scopes: ['openid', 'api:read'] });
    const { client: renamed, secret: none } = await updateClient(app.tessera, client.id, {
      name: 'Renamed',
    });
    expect(none).toBeUndefined();
    expect(renamed).toMatchObject({ name: 'Renamed', scopes: ['openid', 'api:read'] });
    expect(verifyClientSecret(renamed, secret!)).toBe(true);
    // Taking away the last redirect URI of a code-flow client is refused, and nothing changes.
    expect(await refusal(updateClient(app.tessera, client.id, { redirectUris: [] }))).toBe(
      'redirect_uris',
    );
    expect((await app.tessera.store.clients.findById(client.id))?.redirectUris).toEqual([
      'https://a.example/cb',
    ]);
  });

  it('drops the secret of a client made public, and makes one for a client made confidential', async () => {
    const { client, secret } = await create({});
    const made = await updateClient(app.tessera, client.id, { type: 'public' });
    expect(made.client).toMatchObject({
      type: 'public',
      tokenEndpointAuthMethod: 'none',
      secretHash: null,
    });
    expect(verifyClientSecret(made.client, secret!)).toBe(false);
    const back = await updateClient(app.tessera, client.id, {
      tokenEndpointAuthMethod: 'client_secret_post',
    });
    expect(back.client.type).toBe('confidential');
    expect(back.secret).toBeDefined();
    expect(verifyClientSecret(back.client, back.secret!)).toBe(true);
  });

  it('rotates a secret so that only the new one verifies; a public client has none to rotate', async () => {
    const { client, secret } = await create({});
    const rotated = await rotateClientSecret(app.tessera, client.id);
    expect(rotated.secret).not.toBe(secret);
    expect(verifyClientSecret(rotated.client, secret!)).toBe(false);
    expect(verifyClientSecret(rotated.client, rotated.secret!)).toBe(true);
    const spa = await create({ type: 'public' });
    expect(await refusal(rotateClientSecret(app.tessera, spa.client.id))).toBe('client_type');
  });

  it('records each change in the audit log', async () => {
    const { client } = await create({});
    await updateClient(app.tessera, client.id, { name: 'Audited' });
    await rotateClientSecret(app.tessera, client.id);
    await deleteClient(app.tessera, client.id);
    const events = await app.tessera.store.audit.list({ limit: 1000 });
    const types = events.filter((e) => e.clientId === client.id).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'client.created',
        'client.updated',
        'client.secret_rotated',
        'client.deleted',
      ]),
    );
  });

  it('answers NotFoundError for an unknown id', async () => {
    for (const work of [
      updateClient(app.tessera, 'nope', { name: 'x' }),
      rotateClientSecret(app.tessera, 'nope'),
      deleteClient(app.tessera, 'nope'),
    ]) {
      await expect(work).rejects.toMatchObject({ name: 'NotFoundError', what: 'client' });
    }
  });

  it('forgets a changed client in the cache at once', async () => {
    const { client } = await create({});
    expect((await app.tessera.clients.get(client.id))?.name).toBe('App');
    await updateClient(app.tessera, client.id, { name: 'Fresh' });
    expect((await app.tessera.clients.get(client.id))?.name).toBe('Fresh');
    await deleteClient(app.tessera, client.id);
    expect(await app.tessera.clients.get(client.id)).toBeUndefined();
  });
});
