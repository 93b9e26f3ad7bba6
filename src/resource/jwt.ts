/**
 * JWT access tokens (RFC 9068) checked locally: the signature against Tessera's JWKS, then the
 * claims that make the token this resource's.
 */
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { TokenError } from './errors.js';
import type { IssuerMetadata } from './issuer.js';

/**
 * Asymmetric algorithms only: `none` and the HMAC family are never accepted, so a token "signed"
 * with the public key as an HMAC secret, or not at all, is refused before any key is looked at.
 */
const ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
];

/** Whether `token` is a JWS in compact form (three base64url parts); anything else is opaque. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token) && token.startsWith('eyJ');
}

export interface JwtSettings {
  issuer: string;
  resource: string;
  metadata: () => Promise<IssuerMetadata>;
  fetch: typeof globalThis.fetch;
  clockTolerance: number;
  jwksCooldown: number;
  now: () => number;
}

/** Why a token failed, in words a client can act on (jose's messages name claims, not secrets). */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'the access token is not meant for this resource (aud)';
    if (error.claim === 'iss') return 'the access token was not issued by the trusted issuer (iss)';
    if (error.claim === 'nbf') return 'the access token is not valid yet (nbf)';
    if (error.claim === 'typ') return 'the token is not an access token (typ must be at+jwt)';
    return `the access token's ${error.claim} claim is invalid: ${error.reason}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return 'the access token is not signed with an accepted algorithm';
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return "the access token's signing key is not one of the issuer's keys";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "the access token's signature is invalid";
  }
  return 'the access token is malformed';
}

/**
 * A checker of JWT access tokens: the JWKS is fetched on first use and kept; a token with a
 * `kid` the kit does not know makes it fetch again (Tessera rotated its keys), at most once per
 * `jwksCooldown` seconds. Resolves to the token's claims; rejects with invalid_token.
 */
export function jwtChecker(settings: JwtSettings): (token: string) => Promise<JWTPayload> {
  let keys: JWTVerifyGetKey | undefined;
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!keys) {
      const { jwks_uri } = await settings.metadata();
      keys = createRemoteJWKSet(new URL(jwks_uri), {
        cooldownDuration: settings.jwksCooldown * 1000,
        [customFetch]: settings.fetch,
      });
    }
    return keys(header, token);
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: settings.issuer,
        audience: settings.resource,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        clockTolerance: settings.clockTolerance,
        currentDate: new Date(settings.now()),
        requiredClaims: ['exp', 'client_id'],
      }));
    } catch (error) {
      // Only JOSE's verdicts are the token's fault; a JWKS that cannot be fetched is not.
      if (error instanceof errors.JOSEError && !isFetchFailure(error)) {
        throw new TokenError('invalid_token', describe(error));
      }
      throw error;
    }
    return payload;
  };
}

/** JWKS download failures, which say nothing about the token (Tessera is down or misconfigured). */
function isFetchFailure(error: errors.JOSEError): boolean {
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    // jose's generic error is a JWKS answered with something else than 200.
    error.code === 'ERR_JOSE_GENERIC'
  );
}
