import { createHash } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { DPOP_ALGS } from './dpop-algs.js';
import { currentDpopNonce, isCurrentDpopNonce } from './dpop-nonce.js';
import { type DpopSite, InvalidDpopProof, UseDpopNonce } from './errors.js';

/** A DPoP proof that passed every check of RFC 9449 §4.3: the key it proves possession of. */
export interface DpopProof {
  /** The JWK SHA-256 thumbprint of the proof's key (RFC 7638): what tokens are bound to. */
  jkt: string;
}

/** What a proof must match: the request it came with. */
export interface ProofTarget {
  /** The request's method. */
  method: string;
  /** The endpoint's URL as the issuer names it. */
  url: string;
  /** At a protected resource: the access token the proof must hash (`ath`). */
  accessToken?: string;
  site: DpopSite;
}

/** A proof may be this many seconds ahead of this server's clock. */
const FUTURE_SKEW = 5;
const MAX_PROOF_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ALGS: ReadonlySet<string> = new Set(DPOP_ALGS);
/** The members that make a JWK private (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
/** RFC 7638 §3.2: the members a thumbprint is made of, by key type, in order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

/** RFC 7638: the SHA-256 thumbprint of a public JWK, base64url. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)] ?? [];
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The `ath` of an access token (RFC 9449 §4.2): base64url SHA-256 of its ASCII text. */
export const accessTokenHash = (token: string): string => sha256(token);

/** A JWK thumbprint as `dpop_jkt` and `cnf.jkt` carry it: SHA-256, base64url, 43 characters. */
export const isThumbprint = (value: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(value);

const unreserved = /[A-Za-z0-9\-._~]/;

/**
 * RFC 9449 §4.3 step 9: the URL without query and fragment, normalised as RFC 3986 §6.2.2 and
 * §6.2.3 say (the URL parser lowercases scheme and host, drops a default port and resolves dot
 * segments; percent-encodings are decoded when unreserved and uppercased otherwise). One trailing
 * slash is dropped: Tessera answers an endpoint's path with or without one.
 */
export function normaliseHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const path = url.pathname
    .replace(/%[0-9A-Fa-f]{2}/g, (code) => {
      const char = String.fromCharCode(Number.parseInt(code.slice(1), 16));
      return unreserved.test(char) ? char : code.toUpperCase();
    })
    .replace(/(.)\/$/, '$1');
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * Checks the proof a request carries in its `DPoP` header against RFC 9449 §4.3, in its order,
 * and remembers its `jti` so that it is accepted once. The signature is verified by jose with the
 * key the proof embeds; nothing about a proof or its key is cached.
 */
export async function checkDpopProof(
  ctx: AppContext,
  header: string | string[] | undefined,
  target: ProofTarget,
): Promise<DpopProof> {
  const site = target.site;
  const refuse = (description: string, cause?: unknown): never => {
    throw new InvalidDpopProof(description, site, cause === undefined ? undefined : { cause });
  };
  // Node joins a repeated header with ", "; a compact JWS holds neither.
  if (header === undefined || header === '') return refuse('a DPoP proof is required');
  if (Array.isArray(header) || /[,\s]/.test(header))
    return refuse('send exactly one DPoP header, with one proof');
  if (header.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(header))
    return refuse('the DPoP header is not a JWT (a compact JWS)');

  let protectedHeader: ReturnType<typeof decodeProtectedHeader>;
  try {
    protectedHeader = decodeProtectedHeader(header);
  } catch (error) {
    return refuse('the DPoP proof header is not valid JSON', error);
  }
  if (protectedHeader.typ !== 'dpop+jwt') return refuse('the DPoP proof typ must be "dpop+jwt"');
  const alg = protectedHeader.alg;
  if (typeof alg !== 'string' || alg === 'none' || /^HS/.test(alg))
    return refuse(`the DPoP proof must be signed with an asymmetric algorithm, not ${String(alg)}`);
  if (!ALGS.has(alg))
    return refuse(`the DPoP proof alg ${alg} is not supported (one of ${DPOP_ALGS.join(', ')})`);
  const jwk = protectedHeader.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || typeof jwk.kty !== 'string')
    return refuse('the DPoP proof header must carry the public key as jwk');
  if (PRIVATE_MEMBERS.some((member) => member in jwk))
    return refuse('the DPoP proof jwk must be a public key: it holds private key material');

  let payload: Uint8Array;
  try {
    const key = await importJWK({ ...(jwk as JWK), ext: true }, alg);
    ({ payload } = await compactVerify(header, key, { algorithms: [alg] }));
  } catch (error) {
    return refuse('the DPoP proof signature does not verify with its jwk', error);
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (error) {
    return refuse('the DPoP proof payload is not a JSON object', error);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    return refuse('the DPoP proof payload is not a JSON object');
  const { jti, htm, htu, iat } = claims;
  if (typeof jti !== 'string' || jti === '' || jti.length > 256)
    return refuse('the DPoP proof needs a jti (a unique string of at most 256 characters)');
  if (typeof htm !== 'string') return refuse('the DPoP proof needs htm, the HTTP method');
  if (typeof htu !== 'string') return refuse('the DPoP proof needs htu, the URL it is for');
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    return refuse('the DPoP proof needs iat, when it was made');

  if (htm !== target.method)
    return refuse(`the DPoP proof htm is "${htm}", but this request is a ${target.method}`);
  const expected = normaliseHtu(target.url);
  if (normaliseHtu(htu) !== expected)
    return refuse(`the DPoP proof htu must be ${target.url} (without query or fragment)`);

  const now = nowSeconds(ctx);
  if (ctx.config.dpopNonce) {
    const nonce = claims.nonce;
    if (typeof nonce !== 'string' || !isCurrentDpopNonce(ctx, nonce, now)) {
      throw new UseDpopNonce(
        typeof nonce === 'string'
          ? 'the DPoP proof nonce is not current: use the one in the DPoP-Nonce header'
          : 'this server requires a nonce in DPoP proofs: use the one in the DPoP-Nonce header',
        currentDpopNonce(ctx, now),
        site,
      );
    }
  }
  const window = ctx.config.dpopProofWindow;
  if (iat < now - window)
    return refuse(`the DPoP proof is too old: iat must be within the last ${window} seconds`);
  if (iat > now + FUTURE_SKEW) return refuse('the DPoP proof iat is in the future');

  if (target.accessToken !== undefined) {
    if (typeof claims.ath !== 'string')
      return refuse('the DPoP proof needs ath, the hash of the access token it is sent with');
    if (claims.ath !== accessTokenHash(target.accessToken))
      return refuse('the DPoP proof ath is not the hash of this access token');
  }

  const jkt = jwkThumbprint(jwk);
  // Last, so that a proof refused for another reason does not use up its jti. Kept as long as
  // the proof could be accepted; the id is hashed so that its length is bounded.
  const fresh = await ctx.store.markers.use(
    `dpop:${sha256(`${jkt}:${jti}`)}`,
    Math.floor(iat) + window + 1,
  );
  if (!fresh) return refuse('the DPoP proof was used before: make a new one (a new jti)');
  return { jkt };
}
