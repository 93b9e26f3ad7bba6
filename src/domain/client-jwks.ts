import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JwkSet } from '../store/types.js';
import { ValidationError } from './errors.js';

/** Algorithms a client may sign its assertions with its own keys (private_key_jwt, JWT bearer). */
export const ASYMMETRIC_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  // RFC 9864's fully-specified name for EdDSA with Ed25519, which oauth4webapi and openid-client send.
  'Ed25519',
] as const;

/** Algorithms of client_secret_jwt: an HMAC keyed by the client secret. */
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;

export const ASSERTION_ALGS: readonly string[] = [...ASYMMETRIC_ALGS, ...HMAC_ALGS];

/** A registered key set larger than this is refused: it is read on every assertion's key lookup. */
export const MAX_JWKS_BYTES = 16 * 1024;
export const MAX_JWKS_KEYS = 20;

/** Members of a JWK that hold private or secret key material (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);

/**
 * A JWK Set of public keys, as a client registers it inline or publishes it at its `jwks_uri`:
 * an object with a `keys` list of RSA, EC or OKP keys, none with private or symmetric members.
 * Returns a description of the first problem, or undefined when the set is acceptable.
 */
export function jwksProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'must be a JWK Set: an object with a "keys" list';
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return 'must be a JWK Set: an object with a "keys" list';
  if (keys.length === 0) return 'holds no keys';
  if (keys.length > MAX_JWKS_KEYS) return `holds more than ${MAX_JWKS_KEYS} keys`;
  const kids = new Set<string>();
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key))
      return `key ${i} is not a JSON object`;
    const jwk = key as Record<string, unknown>;
    const secret = PRIVATE_MEMBERS.find((m) => m in jwk);
    if (secret !== undefined) {
      return `key ${i} holds private or secret key material ("${secret}"): register public keys only`;
    }
    if (typeof jwk.kty !== 'string' || !KEY_TYPES.has(jwk.kty))
      return `key ${i} has kty ${JSON.stringify(jwk.kty)}: only RSA, EC and OKP public keys are accepted`;
    if (jwk.use !== undefined && jwk.use !== 'sig')
      return `key ${i} has use "${String(jwk.use)}": keys that sign assertions have use "sig"`;
    if (jwk.alg !== undefined && !(ASYMMETRIC_ALGS as readonly unknown[]).includes(jwk.alg))
      return `key ${i} has alg ${JSON.stringify(jwk.alg)}: one of ${ASYMMETRIC_ALGS.join(', ')}`;
    try {
      createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      return `key ${i} is not a valid ${jwk.kty} public key`;
    }
    if (jwk.kid !== undefined) {
      if (typeof jwk.kid !== 'string') return `key ${i} has a kid that is not a string`;
      if (kids.has(jwk.kid)) return `two keys have the kid "${jwk.kid}"`;
      kids.add(jwk.kid);
    }
  }
  return undefined;
}

/**
 * The set as jose should match it against an assertion: a key registered with `alg` EdDSA or
 * Ed25519 fits both names (RFC 9864 gave EdDSA with Ed25519 the second), so that alg is left out.
 */
export function forVerification(set: JwkSet): JwkSet {
  return {
    keys: set.keys.map((key) => {
      if (key.alg !== 'EdDSA' && key.alg !== 'Ed25519') return key;
      const { alg: _alg, ...rest } = key;
      return rest;
    }),
  };
}

/** The inline `jwks` a client registers, checked and kept as given (see jwksProblem). */
export function checkJwks(value: unknown): JwkSet {
  const parsed = typeof value === 'string' ? parseJson(value) : value;
  if (JSON.stringify(parsed ?? null).length > MAX_JWKS_BYTES)
    throw new ValidationError('jwks', `jwks must be at most ${MAX_JWKS_BYTES / 1024} KiB`);
  const problem = jwksProblem(parsed);
  if (problem) throw new ValidationError('jwks', `jwks: ${problem}`);
  return { keys: (parsed as JwkSet).keys.map((k) => ({ ...k })) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('jwks', 'jwks is not valid JSON');
  }
}
