import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * Compact JWS signing and verification on node:crypto KeyObjects.
 *
 * jose is our JOSE library (key generation, JWK export, thumbprints, and
 * every test's verification); but its sign() goes through WebCrypto, which is
 * asynchronous and runs on the thread pool. Signing synchronously here measured
 * 1.5x to 7x faster, and the token endpoint signs on every request.
 */

export type JwsAlg = 'ES256' | 'RS256' | 'EdDSA';

export const JWS_ALGS: readonly JwsAlg[] = ['ES256', 'RS256', 'EdDSA'];

export function isJwsAlg(value: unknown): value is JwsAlg {
  return typeof value === 'string' && (JWS_ALGS as readonly string[]).includes(value);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function rawSign(alg: JwsAlg, data: Buffer, key: KeyObject): Buffer {
  switch (alg) {
    case 'ES256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', data, key);
    case 'EdDSA':
      return sign(null, data, key);
  }
}

function rawVerify(alg: JwsAlg, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  switch (alg) {
    case 'ES256':
      return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return verify('sha256', data, key, signature);
    case 'EdDSA':
      return verify(null, data, key, signature);
  }
}

export interface JwsHeader {
  alg: JwsAlg;
  kid: string;
  typ?: string;
}

/** Signs `payload` as a compact JWS (a JWT when the payload is a claims set). */
export function signJws(
  header: JwsHeader,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${rawSign(header.alg, Buffer.from(input), key).toString('base64url')}`;
}

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Splits and parses a compact JWS without checking it; undefined when it is not one. */
export function decodeJws(
  token: string,
): (DecodedJws & { signingInput: string; signature: Buffer }) | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object')
      return undefined;
    return {
      header,
      payload,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/**
 * Verifies a compact JWS made by us: the key is found by `kid`, and the
 * header's `alg` must be the key's own (no algorithm confusion, no `none`).
 */
export function verifyJws(
  token: string,
  findKey: (kid: string) => { alg: JwsAlg; key: KeyObject } | undefined,
): DecodedJws | undefined {
  const decoded = decodeJws(token);
  if (!decoded) return undefined;
  const { header } = decoded;
  if (typeof header.kid !== 'string' || typeof header.alg !== 'string') return undefined;
  // We never set `crit`; a token that does asks for processing we do not do.
  if ('crit' in header) return undefined;
  const found = findKey(header.kid);
  if (!found || found.alg !== header.alg) return undefined;
  if (!rawVerify(found.alg, Buffer.from(decoded.signingInput), found.key, decoded.signature))
    return undefined;
  return { header, payload: decoded.payload };
}
