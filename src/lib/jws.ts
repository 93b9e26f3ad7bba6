import { type KeyObject, sign } from 'node:crypto';

/**
 * Compact JWS signing on node:crypto KeyObjects: the one piece of JOSE not done
 * by jose. jose signs through WebCrypto, asynchronously on the thread pool; this
 * synchronous signer measured 1.5x to 1.8x jose's throughput for ES256 (every
 * access token) and the same within noise for RS256 (bench/signers.ts, figures
 * in bench/README.md). Every verification goes through jose (KeyRing.verify), and
 * test/lib/jws.test.ts checks both against each other on every algorithm.
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
