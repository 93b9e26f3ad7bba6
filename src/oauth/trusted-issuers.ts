import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { parseTrustedIssuers, type TrustedIssuer } from '../config.js';
import { type AppContext, nowSeconds } from '../context.js';
// Signatures a key pair makes: an ID token MACed with a shared secret proves nothing to us.
import { ASYMMETRIC_ALGS } from '../domain/client-jwks.js';
import { InvalidRequest } from './errors.js';

/** Limits on what a trusted issuer's server may make us wait for or read. */
const FETCH_TIMEOUT_MS = 5000;
const MAX_DOCUMENT_BYTES = 256 * 1024;
/** How long fetched keys are used before being fetched again, and the least time between fetches. */
const KEYS_MAX_AGE_MS = 10 * 60_000;
const KEYS_COOLDOWN_MS = 30_000;
/** The oldest ID token accepted, by `iat`; `exp` bounds it too. */
const MAX_TOKEN_AGE_SECONDS = 24 * 3600;

/** GETs JSON from a trusted issuer: a deadline, no redirects, and a bounded body. */
async function fetchBounded(url: string, signal?: AbortSignal): Promise<Response> {
  const deadline = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const response = await fetch(url, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
    signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
  });
  if (!response.body) return response;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_DOCUMENT_BYTES)
      throw new Error(`${url} answered more than ${MAX_DOCUMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new Response(Buffer.concat(chunks), {
    status: response.status,
    headers: response.headers,
  });
}

/** The JWKS URI of an issuer: configured, or read from its discovery document. */
async function jwksUriOf(entry: TrustedIssuer): Promise<string> {
  if (entry.jwksUri) return entry.jwksUri;
  const url = `${entry.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetchBounded(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
  if (metadata.issuer !== entry.issuer) throw new Error(`${url} names another issuer`);
  if (typeof metadata.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
  return metadata.jwks_uri;
}

/** The trusted issuers of one app, each with its keys, fetched on first use and cached. */
class TrustedIssuers {
  private readonly entries: ReadonlyMap<string, TrustedIssuer>;
  private readonly keys = new Map<string, JWTVerifyGetKey>();
  /** When locating an issuer's keys last failed: not tried again before the cooldown. */
  private readonly failedAt = new Map<string, number>();

  constructor(list: TrustedIssuer[]) {
    this.entries = new Map(list.map((entry) => [entry.issuer, entry]));
  }

  find(issuer: string): TrustedIssuer | undefined {
    return this.entries.get(issuer);
  }

  async keysOf(entry: TrustedIssuer): Promise<JWTVerifyGetKey> {
    const known = this.keys.get(entry.issuer);
    if (known) return known;
    // Every exchange with this issuer's tokens would fetch its discovery document again while it
    // fails; a client sending them must not make us call the issuer at its own pace.
    const failed = this.failedAt.get(entry.issuer);
    if (failed !== undefined && Date.now() - failed < KEYS_COOLDOWN_MS) {
      throw new Error(`locating the keys of ${entry.issuer} failed less than 30 s ago`);
    }
    let jwksUri: string;
    try {
      jwksUri = await jwksUriOf(entry);
    } catch (error) {
      this.failedAt.set(entry.issuer, Date.now());
      throw error;
    }
    this.failedAt.delete(entry.issuer);
    const set = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: KEYS_COOLDOWN_MS,
      cacheMaxAge: KEYS_MAX_AGE_MS,
      [customFetch]: (url: string, options: { signal?: AbortSignal }) =>
        fetchBounded(url, options.signal),
    });
    this.keys.set(entry.issuer, set);
    return set;
  }
}

// One per app (keyed by its configuration), so that each test app has its own keys.
const perApp = new WeakMap<AppContext['config'], TrustedIssuers>();

function trustedIssuers(ctx: AppContext): TrustedIssuers {
  let issuers = perApp.get(ctx.config);
  if (!issuers) {
    issuers = new TrustedIssuers(parseTrustedIssuers(ctx.config.trustedIssuers));
    perApp.set(ctx.config, issuers);
  }
  return issuers;
}

/** The `iss` an ID token claims, before anything about it is trusted; undefined when unreadable. */
export function claimedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies an ID token of a trusted issuer (signature by its published keys, an asymmetric
 * `alg`, `iss`, `aud` naming the configured audience, `exp`, `iat`, `sub`), and returns its
 * claims. Every failure is an invalid_request (RFC 8693 §2.2.2) that says what was wrong.
 */
export async function verifyTrustedIdToken(
  ctx: AppContext,
  token: string,
  allowedIssuers: readonly string[],
): Promise<JWTPayload & { iss: string; sub: string }> {
  const issuer = claimedIssuer(token);
  if (issuer === undefined)
    throw new InvalidRequest('the subject_token is not a JWT with an "iss" claim');
  const entry = trustedIssuers(ctx).find(issuer);
  if (!entry) throw new InvalidRequest(`the ID token's issuer "${issuer}" is not trusted here`);
  if (!allowedIssuers.includes(issuer)) {
    throw new InvalidRequest(`this client may not exchange ID tokens issued by "${issuer}"`);
  }
  let keys: JWTVerifyGetKey;
  try {
    keys = await trustedIssuers(ctx).keysOf(entry);
  } catch (error) {
    ctx.log.warn({ issuer, err: error }, "a trusted issuer's keys could not be located");
    throw new InvalidRequest(`the keys of "${issuer}" could not be fetched to check the ID token`, {
      cause: error,
    });
  }
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer,
      audience: entry.audience,
      algorithms: [...ASYMMETRIC_ALGS],
      currentDate: new Date(nowSeconds(ctx) * 1000),
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    return payload as JWTPayload & { iss: string; sub: string };
  } catch (error) {
    throw new InvalidRequest(describe(error, issuer), { cause: error });
  }
}

/** What was wrong with an ID token, in words a client developer can act on. */
function describe(error: unknown, issuer: string): string {
  if (error instanceof errors.JWTExpired) return 'the ID token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud')
      return 'the ID token\'s "aud" does not name the audience configured for its issuer';
    if (error.claim === 'iat') return 'the ID token\'s "iat" is in the future or too long ago';
    return `the ID token's "${error.claim}" claim is missing or wrong`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the ID token must be signed with an asymmetric algorithm (RS*, PS*, ES*, EdDSA)';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return "the ID token's signature does not verify";
  if (error instanceof errors.JWKSNoMatchingKey)
    return `no key of "${issuer}" matches the ID token's header`;
  if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError))
    return `the keys of "${issuer}" could not be fetched to check the ID token`;
  return 'the ID token is malformed';
}
