import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import type { AppContext } from '../../src/context.js';
import type { Client } from '../../src/store/types.js';
import { makeClient, type TestClient } from './oauth.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface KeyPair {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A fresh key pair of `alg`, with a kid, its public half as a JWK. */
export async function keyPair(alg = 'ES256', kid = randomUUID()): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

export interface KeyedClient extends TestClient {
  key: KeyPair;
}

/** A confidential client that authenticates with private_key_jwt, its public key registered inline. */
export async function makeKeyedClient(
  ctx: AppContext,
  overrides: Partial<Client> = {},
  key?: KeyPair,
): Promise<KeyedClient> {
  const pair = key ?? (await keyPair());
  const made = await makeClient(ctx, {
    tokenEndpointAuthMethod: 'private_key_jwt',
    grantTypes: ['client_credentials'],
    scopes: ['api:read', 'api:write', 'openid', 'profile'],
    jwks: { keys: [pair.publicJwk as Record<string, unknown>] },
    // A private_key_jwt client has no secret (domain/clients.ts gives it none).
    secretHash: null,
    ...overrides,
  });
  return { client: made.client, secret: undefined, key: pair };
}

/** Signs claims as a JWT with `key` (alg and kid from the key unless given in `header`). */
export async function signWith(
  key: KeyPair | Uint8Array,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const jwt = new SignJWT(claims);
  if (key instanceof Uint8Array) {
    return jwt.setProtectedHeader({ alg: 'HS256', ...header }).sign(key);
  }
  return jwt.setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

/** The claims of a good client assertion for `clientId` at `issuer`, at `now` (seconds). */
export function assertionClaims(
  clientId: string,
  issuer: string,
  now: number,
  extra: JWTPayload = {},
): JWTPayload {
  return {
    iss: clientId,
    sub: clientId,
    aud: `${issuer}/token`,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...extra,
  };
}

/** An unsigned JWT (alg none), as an attacker would send it. */
export function unsignedJwt(claims: JWTPayload): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none' })}.${b64(claims)}.`;
}
