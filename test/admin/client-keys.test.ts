import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, resolveClient } from '../../src/domain/client-rules.js';
import { ValidationError } from '../../src/domain/errors.js';
import { sha256 } from '../../src/lib/hash.js';
import { unseal } from '../../src/lib/seal.js';
import { testApp } from '../helpers/app.js';
import { JWT_BEARER, keyPair } from '../helpers/client-jwt.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

/**
 * Registering clients that sign with their own keys or with their secret (client_secret_jwt)
 * through the admin API: public keys only, one of jwks and jwks_uri, the secret of a
 * client_secret_jwt client kept sealed besides its hash, and a new one when a client switches.
 */
describe.each(storeFactories())('admin API: client keys on $name', (factory) => {
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

  const register = (payload: object) =>
    app.inject({ method: 'POST', url: '/admin/api/clients', headers: KEY, payload });
  const update = (id: string, payload: object) =>
    app.inject({ method: 'PATCH', url: `/admin/api/clients/${id}`, headers: KEY, payload });
  const service = {
    client_name: 'Service',
    grant_types: ['client_credentials'],
    scope: 'api:read',
  };

  it('registers a private_key_jwt client with inline keys: no secret, keys shown back', async () => {
    const key = await keyPair();
    const res = await register({
      ...service,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [key.publicJwk] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.client_secret).toBeUndefined();
    expect(body).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [key.publicJwk] },
      jwks_uri: null,
      jwt_bearer_subjects: [],
    });
    const stored = await app.tessera.store.clients.findById(body.client_id);
    expect(stored!.secretHash).toBeNull();
    expect(stored!.secretSealed).toBeNull();
  });

  it('refuses private key material, symmetric keys, both jwks and jwks_uri, and no keys at all', async () => {
    const key = await keyPair();
    const { exportJWK } = await import('jose');
    const privateJwk = await exportJWK(key.privateKey);
    const cases: [object, RegExp][] = [
      [{ jwks: { keys: [privateJwk] } }, /private or secret key material \("d"\)/],
      [
        { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
        /private or secret key material \("k"\)/,
      ],
      [{ jwks: { keys: [] } }, /holds no keys/],
      [
        { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] } },
        /not a valid EC public key/,
      ],
      [{ jwks: { keys: [{ ...key.publicJwk, use: 'enc' }] } }, /use "enc"/],
      [
        { jwks: { keys: [key.publicJwk], padding: 'x'.repeat(20_000) } },
        /jwks must be at most 16 KiB/,
      ],
      [
        { jwks: { keys: [key.publicJwk] }, jwks_uri: 'https://keys.example.com/jwks' },
        /jwks or jwks_uri, not both/,
      ],
      [{}, /private_key_jwt needs the client’s public keys/],
      [{ jwks_uri: 'http://keys.example.com/jwks' }, /must use https/],
      [
        { jwks: { keys: [key.publicJwk] }, token_endpoint_auth_signing_alg: 'HS256' },
        /private_key_jwt signs with an asymmetric alg/,
      ],
      [
        { jwks: { keys: [key.publicJwk] }, token_endpoint_auth_signing_alg: 'none' },
        /token_endpoint_auth_signing_alg must be one of/,
      ],
    ];
    for (const [extra, message] of cases) {
      const res = await register({
        ...service,
        token_endpoint_auth_method: 'private_key_jwt',
        ...extra,
      });
      expect(res.statusCode, JSON.stringify(extra).slice(0, 80)).toBe(400);
      expect(res.json().error_description, JSON.stringify(extra).slice(0, 80)).toMatch(message);
    }
  });

  it('client_secret_jwt: the secret is shown once, stored hashed and sealed under the instance secret', async () => {
    const res = await register({ ...service, token_endpoint_auth_method: 'client_secret_jwt' });
    expect(res.statusCode, res.body).toBe(201);
    const { client_id: id, client_secret: secret } = res.json();
    const stored = await app.tessera.store.clients.findById(id);
    expect(stored!.secretHash).toBe(sha256(secret));
    expect(stored!.secretSealed).not.toContain(secret);
    expect(unseal(app.tessera.config.secret, 'client-secret-jwt', stored!.secretSealed!)).toBe(
      secret,
    );
    const read = await app.inject({ url: `/admin/api/clients/${id}`, headers: KEY });
    expect(read.body).not.toContain(secret);
    expect(read.body).not.toContain(stored!.secretSealed!);
  });

  it('a client switched to client_secret_jwt gets a new secret; switched away, the sealed copy goes', async () => {
    const made = (
      await register({ ...service, token_endpoint_auth_method: 'client_secret_basic' })
    ).json();
    const before = await app.tessera.store.clients.findById(made.client_id);
    expect(before!.secretSealed).toBeNull();
    const switched = await update(made.client_id, {
      token_endpoint_auth_method: 'client_secret_jwt',
    });
    expect(switched.statusCode, switched.body).toBe(200);
    const fresh = switched.json().client_secret as string;
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(made.client_secret);
    const after = await app.tessera.store.clients.findById(made.client_id);
    expect(after!.secretHash).toBe(sha256(fresh));
    expect(unseal(app.tessera.config.secret, 'client-secret-jwt', after!.secretSealed!)).toBe(
      fresh,
    );
    // An unrelated change keeps the secret and its sealed copy.
    const renamed = await update(made.client_id, { client_name: 'Renamed' });
    expect(renamed.json().client_secret).toBeUndefined();
    expect((await app.tessera.store.clients.findById(made.client_id))!.secretSealed).toBe(
      after!.secretSealed,
    );
    const back = await update(made.client_id, { token_endpoint_auth_method: 'client_secret_post' });
    expect(back.json().client_secret).toBeUndefined();
    const last = await app.tessera.store.clients.findById(made.client_id);
    expect(last!.secretSealed).toBeNull();
    expect(last!.secretHash).toBe(sha256(fresh));
    // To private_key_jwt: no secret at all, and none to rotate.
    const key = await keyPair();
    const keyed = await update(made.client_id, {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
    });
    expect(keyed.statusCode, keyed.body).toBe(200);
    expect((await app.tessera.store.clients.findById(made.client_id))!.secretHash).toBeNull();
  });

  it('jwt_bearer_subjects needs the JWT bearer grant, and the grant needs keys', async () => {
    const key = await keyPair();
    const noGrant = await register({
      ...service,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      jwt_bearer_subjects: ['someone'],
    });
    expect(noGrant.statusCode).toBe(400);
    expect(noGrant.body).toMatch(
      /jwt_bearer_subjects needs the urn:ietf:params:oauth:grant-type:jwt-bearer/,
    );
    const noKeys = await register({ ...service, grant_types: [JWT_BEARER] });
    expect(noKeys.statusCode).toBe(400);
    expect(noKeys.body).toMatch(/the JWT bearer grant needs the client’s public keys/);
    const ok = await register({
      ...service,
      grant_types: [JWT_BEARER],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://keys.example.com/jwks.json',
      jwt_bearer_subjects: ['u1', 'u2', 'u1'],
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({
      jwt_bearer_subjects: ['u1', 'u2'],
      jwks_uri: 'https://keys.example.com/jwks.json',
    });
  });
});

describe('jwks_uri in production', () => {
  it('must be https and must not name an internal address', () => {
    const base = { ...CLIENT_DEFAULTS, name: 'x', grantTypes: ['client_credentials'] };
    const input = { tokenEndpointAuthMethod: 'private_key_jwt' };
    for (const uri of [
      'http://127.0.0.1:8080/jwks',
      'https://127.0.0.1/jwks',
      'https://10.0.0.5/jwks',
      'https://localhost/jwks',
      'https://[::1]/jwks',
    ]) {
      expect(
        () => resolveClient(base, { ...input, jwksUri: uri }, { production: true }),
        uri,
      ).toThrow(ValidationError);
    }
    expect(
      resolveClient(
        base,
        { ...input, jwksUri: 'https://keys.example.com/jwks' },
        { production: true },
      ).jwksUri,
    ).toBe('https://keys.example.com/jwks');
    // Outside production, loopback http is allowed (for development and tests).
    expect(
      resolveClient(
        base,
        { ...input, jwksUri: 'http://127.0.0.1:8080/jwks' },
        { production: false },
      ).jwksUri,
    ).toBe('http://127.0.0.1:8080/jwks');
  });

  it('of a client not made by an admin: never internal, loopback only when allowed', () => {
    const input = { tokenEndpointAuthMethod: 'private_key_jwt' };
    for (const registration of ['dynamic', 'metadata_document'] as const) {
      const base = {
        ...CLIENT_DEFAULTS,
        name: 'x',
        grantTypes: ['client_credentials'],
        registration,
      };
      const check = (uri: string, allowLoopback: boolean) =>
        resolveClient(base, { ...input, jwksUri: uri }, { production: false, allowLoopback })
          .jwksUri;
      for (const uri of [
        'https://10.0.0.5/jwks',
        'https://[fd00::1]/jwks',
        'http://keys.example.com/jwks',
      ]) {
        expect(() => check(uri, true), `${registration} ${uri}`).toThrow(ValidationError);
      }
      expect(() => check('http://127.0.0.1:8080/jwks', false)).toThrow(ValidationError);
      expect(() => check('https://localhost/jwks', false)).toThrow(ValidationError);
      expect(check('http://127.0.0.1:8080/jwks', true)).toBe('http://127.0.0.1:8080/jwks');
      expect(check('https://keys.example.com/jwks', false)).toBe('https://keys.example.com/jwks');
    }
  });
});
