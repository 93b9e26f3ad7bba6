import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustedIssuers } from '../../src/config.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { makeUser } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

describe.each(storeFactories())('admin API for token exchange on $name', (factory) => {
  let app: FastifyInstance;
  let opened: TestStore;
  beforeAll(async () => {
    opened = await factory.open();
    app = await testApp({ store: opened.store });
  });
  afterAll(async () => {
    await app.close();
    await opened.cleanup();
  });

  it('links, lists and unlinks a person’s identities at trusted issuers, and audits each', async () => {
    const { user } = await makeUser(app.tessera);
    const url = `/admin/api/users/${user.id}/identities`;
    const identity = { issuer: 'https://accounts.example.com', subject: '1234567890' };
    const linked = await app.inject({ method: 'POST', url, headers: KEY, payload: identity });
    expect(linked.statusCode).toBe(201);
    expect(linked.json()).toMatchObject(identity);
    const listed = await app.inject({ url, headers: KEY });
    expect(listed.json().identities).toEqual([{ ...identity, created_at: expect.any(Number) }]);

    const again = await app.inject({ method: 'POST', url, headers: KEY, payload: identity });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'conflict', field: 'identity' });
    // The same account elsewhere cannot stand for a second person either.
    const { user: second } = await makeUser(app.tessera);
    const stolen = await app.inject({
      method: 'POST',
      url: `/admin/api/users/${second.id}/identities`,
      headers: KEY,
      payload: identity,
    });
    expect(stolen.statusCode).toBe(409);

    const gone = await app.inject({ method: 'DELETE', url, headers: KEY, payload: identity });
    expect(gone.statusCode).toBe(204);
    const goneAgain = await app.inject({ method: 'DELETE', url, headers: KEY, payload: identity });
    expect(goneAgain.statusCode).toBe(404);
    expect((await app.inject({ url, headers: KEY })).json().identities).toEqual([]);
    const events = await app.tessera.store.audit.list({ userId: user.id, limit: 10 });
    const types = events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['user.identity_linked', 'user.identity_unlinked']),
    );
  });

  it('refuses identities of unknown people, bad values, and callers without the admin key', async () => {
    const identity = { issuer: 'https://accounts.example.com', subject: 'x' };
    const unknown = await app.inject({
      method: 'POST',
      url: '/admin/api/users/nobody/identities',
      headers: KEY,
      payload: identity,
    });
    expect(unknown.statusCode).toBe(404);
    const { user } = await makeUser(app.tessera);
    const url = `/admin/api/users/${user.id}/identities`;
    for (const payload of [
      { issuer: '', subject: 'x' },
      { issuer: 'https://a.example', subject: ' padded ' },
      { issuer: 'https://a.example' },
      { issuer: 'https://a.example', subject: 'x'.repeat(3000) },
    ]) {
      const res = await app.inject({ method: 'POST', url, headers: KEY, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error).toBe('invalid_request');
    }
    const anonymous = await app.inject({ method: 'POST', url, payload: identity });
    expect(anonymous.statusCode).toBe(401);
  });

  it('sets and shows a client’s exchange policy in RFC 7591 style names', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/admin/api/clients',
      headers: KEY,
      payload: {
        client_name: 'Orders API',
        grant_types: [TOKEN_EXCHANGE],
        token_exchange_audiences: ['https://api-b.example.com'],
        token_exchange_subject_token_types: [ID_TOKEN_TYPE],
        token_exchange_trusted_issuers: ['https://accounts.example.com'],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      grant_types: [TOKEN_EXCHANGE],
      token_exchange_audiences: ['https://api-b.example.com'],
      token_exchange_subject_token_types: [ID_TOKEN_TYPE],
      token_exchange_trusted_issuers: ['https://accounts.example.com'],
    });
    const plain = await app.inject({
      method: 'POST',
      url: '/admin/api/clients',
      headers: KEY,
      payload: { client_name: 'Plain', redirect_uris: ['https://plain.example/cb'] },
    });
    expect(plain.json()).toMatchObject({
      token_exchange_audiences: [],
      token_exchange_subject_token_types: ['urn:ietf:params:oauth:token-type:access_token'],
      token_exchange_trusted_issuers: [],
    });
    for (const [payload, field] of [
      [
        { token_exchange_subject_token_types: ['urn:ietf:params:oauth:token-type:saml2'] },
        'token_exchange_subject_token_types',
      ],
      [{ token_exchange_audiences: ['has space'] }, 'token_exchange_audiences'],
      [{ token_exchange_audiences: [''] }, 'token_exchange_audiences'],
      [{ client_type: 'public', grant_types: [TOKEN_EXCHANGE] }, 'grant_types'],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/admin/api/clients',
        headers: KEY,
        payload: { client_name: 'Bad', grant_types: [TOKEN_EXCHANGE], ...payload },
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().field).toBe(field);
    }
  });
});

describe('TESSERA_TRUSTED_ISSUERS', () => {
  it('reads a list of issuers, with jwks_uri optional', () => {
    expect(
      parseTrustedIssuers(
        JSON.stringify([
          { issuer: 'https://accounts.example.com', audience: 'abc' },
          { issuer: 'https://idp.example', audience: 'def', jwks_uri: 'https://idp.example/keys' },
        ]),
      ),
    ).toEqual([
      { issuer: 'https://accounts.example.com', audience: 'abc', jwksUri: undefined },
      { issuer: 'https://idp.example', audience: 'def', jwksUri: 'https://idp.example/keys' },
    ]);
    expect(parseTrustedIssuers(undefined)).toEqual([]);
  });

  it.each([
    ['not json', 'JSON list'],
    ['{"issuer":"https://a.example"}', 'JSON list'],
    ['[{"issuer":"ftp://a.example","audience":"x"}]', '"issuer"'],
    ['[{"issuer":"https://a.example"}]', '"audience"'],
    ['[{"issuer":"https://a.example","audience":"x","jwks_uri":"nope"}]', '"jwks_uri"'],
    [
      '[{"issuer":"https://a.example","audience":"x"},{"issuer":"https://a.example","audience":"y"}]',
      'twice',
    ],
  ])('refuses %s, naming the variable', async (raw, says) => {
    const { parseConfig } = await import('../../src/config.js');
    expect(() => parseConfig({ TESSERA_TRUSTED_ISSUERS: raw })).toThrow(/TESSERA_TRUSTED_ISSUERS/);
    expect(() => parseTrustedIssuers(raw)).toThrow(says);
  });
});
