import { compactVerify, decodeJwt, decodeProtectedHeader, errors, type JWTPayload } from 'jose';
import { type AppContext, nowSeconds } from '../context.js';
import { ASYMMETRIC_ALGS, HMAC_ALGS } from '../domain/client-jwks.js';
import { NoClientKeysError } from '../domain/client-keys.js';
import { sha256 } from '../lib/hash.js';
import { RemoteJwksError } from '../lib/remote-jwks.js';
import type { Client } from '../store/types.js';
import type { OAuthError } from './errors.js';

/** How far ahead of our clock a client's `iat` or `nbf` may be: clocks are never quite in step. */
export const CLOCK_SKEW_SECONDS = 30;
const MAX_JTI_LENGTH = 256;

/** A JWT a client signed, read but not yet verified: enough to find the client. */
export interface ReadAssertion {
  alg: string;
  kid: string | undefined;
  claims: JWTPayload;
}

/** Makes the error of the caller: invalid_client for client authentication, invalid_grant for a grant. */
export type Refusal = (description: string, cause?: unknown) => OAuthError;

/**
 * Reads a compact JWT without checking it, so that its `iss`/`sub` can name the client whose
 * keys check it. `what` names it in refusals ("client_assertion", "assertion").
 */
export function readAssertion(jwt: string, what: string, refuse: Refusal): ReadAssertion {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(jwt);
    claims = decodeJwt(jwt);
  } catch (error) {
    throw refuse(
      `${what} is not a signed JWT (compact serialisation with a JSON claims set)`,
      error,
    );
  }
  if (jwt.split('.').length !== 3) throw refuse(`${what} is not a signed JWT (it is encrypted)`);
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (alg === '' || alg.toLowerCase() === 'none')
    throw refuse(`${what} is unsigned (alg "none"): it must be signed`);
  return { alg, kid: typeof header.kid === 'string' ? header.kid : undefined, claims };
}

export interface AssertionRules {
  /** "client_assertion" or "assertion", as refusals name it. */
  what: string;
  /** With the client's registered public keys, or with its secret (client_secret_jwt). */
  keyType: 'public' | 'secret';
  /** The one alg the client registered, if it did. */
  alg?: string | null;
  /** Every `aud` value that names us here; the assertion must hold one. */
  audiences: string[];
  refuse: Refusal;
}

/**
 * Verifies a JWT a client signed (RFC 7523 §3): the alg, the signature with the client's keys
 * or secret, `aud`, `exp` (required, and at most TESSERA_CLIENT_ASSERTION_MAX_LIFETIME ahead),
 * `nbf` and `iat` (not in the future beyond a small skew), and `jti` (required, once: it is
 * remembered until `exp`). The caller checks `iss` and `sub`. Returns the claims.
 */
export async function verifyAssertion(
  ctx: AppContext,
  client: Client,
  jwt: string,
  read: ReadAssertion,
  rules: AssertionRules,
): Promise<JWTPayload> {
  const { what, refuse } = rules;
  const allowed: readonly string[] = rules.keyType === 'public' ? ASYMMETRIC_ALGS : HMAC_ALGS;
  if (!allowed.includes(read.alg)) {
    throw refuse(
      rules.keyType === 'public'
        ? `${what} is signed with ${read.alg}: this client signs with its registered public keys, using one of ${ASYMMETRIC_ALGS.join(', ')}`
        : `${what} is signed with ${read.alg}: client_secret_jwt uses HS256, HS384 or HS512`,
    );
  }
  if (rules.alg && read.alg !== rules.alg) {
    throw refuse(
      `${what} is signed with ${read.alg}: this client registered ${rules.alg} (token_endpoint_auth_signing_alg)`,
    );
  }
  await checkSignature(ctx, client, jwt, read, rules);
  const claims = read.claims;
  checkTimes(ctx, claims, rules);
  checkAudience(claims, rules);
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti === '')
    throw refuse(`${what} has no jti: it is required, so that it can be used only once`);
  if (jti.length > MAX_JTI_LENGTH)
    throw refuse(`${what} has a jti longer than ${MAX_JTI_LENGTH} characters`);
  // One namespace for client assertions and grant assertions: a JWT is used once, whatever for.
  const marker = `jwt-assertion:${sha256(`${client.id} ${jti}`)}`;
  if (!(await ctx.store.markers.use(marker, claims.exp as number))) {
    throw refuse(
      `${what} was used before (its jti has been seen): sign a new one for each request`,
    );
  }
  return claims;
}

async function checkSignature(
  ctx: AppContext,
  client: Client,
  jwt: string,
  read: ReadAssertion,
  { what, refuse, keyType }: AssertionRules,
): Promise<void> {
  try {
    if (keyType === 'secret') {
      await compactVerify(jwt, ctx.clientKeys.secretKey(client), { algorithms: [read.alg] });
    } else {
      await ctx.clientKeys.verifyWithKeys(client, jwt, [read.alg]);
    }
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed)
      throw refuse(`the signature of ${what} does not verify`, error);
    if (error instanceof errors.JWKSNoMatchingKey) {
      throw refuse(
        read.kid === undefined
          ? `no key the client registered fits ${what} (alg ${read.alg}, no kid)`
          : `${what} names a key the client has not registered (kid "${read.kid}")`,
        error,
      );
    }
    if (error instanceof errors.JWKSMultipleMatchingKeys)
      throw refuse(`several registered keys fit ${what}: give it the kid of the one that signed`);
    if (error instanceof RemoteJwksError || error instanceof NoClientKeysError)
      throw refuse(error.message, error);
    if (error instanceof errors.JOSEError)
      throw refuse(`${what} could not be verified (${error.code})`, error);
    throw error;
  }
}

function checkTimes(ctx: AppContext, claims: JWTPayload, { what, refuse }: AssertionRules): void {
  const now = nowSeconds(ctx);
  const max = ctx.config.clientAssertionMaxLifetime;
  if (typeof claims.exp !== 'number') throw refuse(`${what} has no exp: it is required`);
  if (claims.exp <= now) throw refuse(`${what} has expired (exp is in the past)`);
  if (claims.exp > now + max + CLOCK_SKEW_SECONDS) {
    throw refuse(`${what} expires too far ahead: exp may be at most ${max} seconds from now`);
  }
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number') throw refuse(`${what} has an nbf that is not a number`);
    if (claims.nbf > now + CLOCK_SKEW_SECONDS)
      throw refuse(`${what} is not yet valid (nbf is in the future)`);
  }
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== 'number') throw refuse(`${what} has an iat that is not a number`);
    if (claims.iat > now + CLOCK_SKEW_SECONDS)
      throw refuse(`${what} is not yet valid (iat is in the future)`);
  }
}

function checkAudience(claims: JWTPayload, { what, refuse, audiences }: AssertionRules): void {
  const aud = claims.aud;
  const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (values.length === 0) throw refuse(`${what} has no aud: it must name this server`);
  // An assertion naming other audiences besides us could be replayed to them, or was made for
  // them (the audience injection that RFC 7523bis closes): only our own names are accepted.
  const others = values.filter((v) => typeof v !== 'string' || !audiences.includes(v));
  if (others.length > 0 && values.length > 1) {
    throw refuse(
      `${what} names other audiences besides this server: aud must hold only one of ${audiences.join(', ')}`,
    );
  }
  if (!values.some((v) => typeof v === 'string' && audiences.includes(v))) {
    throw refuse(
      `${what} is meant for another audience: aud must be one of ${audiences.join(', ')}`,
    );
  }
}
