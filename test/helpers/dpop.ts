import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWK,
  SignJWT,
} from 'jose';
import { sha256 } from '../../src/lib/hash.js';

/** A DPoP key pair as a client holds it, with its public JWK and thumbprint. */
export interface DpopKey extends GenerateKeyPairResult {
  alg: string;
  jwk: JWK;
  jkt: string;
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  return { ...pair, alg, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

export interface ProofOptions {
  htm?: string;
  htu: string;
  /** Seconds since the epoch; now by default. */
  iat?: number;
  jti?: string;
  nonce?: string;
  /** The access token the proof goes with: `ath` is its hash. */
  accessToken?: string;
  /** Overrides of the protected header (typ, alg, jwk) and extra claims, to make bad proofs. */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the one whose jwk is embedded. */
  signWith?: GenerateKeyPairResult['privateKey'];
}

/** A DPoP proof JWT (RFC 9449 §4.2), made with jose as a client would. */
export async function makeProof(key: DpopKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: options.htm ?? 'POST',
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    jti: options.jti ?? randomUUID(),
    ...(options.nonce ? { nonce: options.nonce } : {}),
    ...(options.accessToken ? { ath: sha256(options.accessToken) } : {}),
    ...options.claims,
  };
  const header = { alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...options.header };
  return new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .sign(options.signWith ?? key.privateKey);
}

/**
 * A proof no library would sign: `alg` as given (`none` by default) and a signature that is
 * empty, or junk for any other alg.
 */
export function unsignedProof(key: DpopKey, options: ProofOptions, alg = 'none'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = { alg, typ: 'dpop+jwt', jwk: key.jwk };
  const claims = {
    htm: options.htm ?? 'POST',
    htu: options.htu,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
  };
  const signature = alg === 'none' ? '' : Buffer.alloc(64, 1).toString('base64url');
  return `${part(header)}.${part(claims)}.${signature}`;
}
