/**
 * Opaque access tokens checked by RFC 7662 introspection at Tessera, with a short cache so that
 * a busy API does not ask about the same token on every request.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { TokenError } from './errors.js';
import type { IssuerMetadata } from './issuer.js';

export interface IntrospectionSettings {
  issuer: string;
  credentials: { clientId: string; clientSecret: string };
  metadata: () => Promise<IssuerMetadata>;
  fetch: typeof globalThis.fetch;
  /** Seconds an answer is reused; 0 for never. */
  cacheTtl: number;
  now: () => number;
}

/** An answer and until when (ms since the epoch) it may be reused. */
interface Entry {
  answer: Promise<Record<string, unknown>>;
  until: number;
}

/** RFC 6749 §2.3.1: client_secret_basic form-encodes the id and secret before base64. */
function basic(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/**
 * A checker of opaque tokens. Answers are kept by the SHA-256 of the token (the cache never
 * holds a usable token) for `cacheTtl` seconds at most and never past the token's `exp`; an
 * inactive answer is kept as long, so a flood of made-up tokens costs Tessera one request each
 * at most once per window. Concurrent requests with one token share one introspection.
 * Resolves to the active introspection response; rejects with invalid_token when inactive.
 */
export function introspectionChecker(
  settings: IntrospectionSettings,
): (token: string) => Promise<Record<string, unknown>> {
  const cache = new LRUCache<string, Entry>({ max: 10_000 });

  const ask = async (token: string): Promise<Record<string, unknown>> => {
    const { introspection_endpoint: endpoint } = await settings.metadata();
    if (!endpoint) {
      throw new Error(`tessera/resource: ${settings.issuer} advertises no introspection_endpoint`);
    }
    const response = await settings.fetch(endpoint, {
      method: 'POST',
      headers: {
        authorization: basic(settings.credentials.clientId, settings.credentials.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) {
      // Wrong credentials or Tessera failing: the operator's problem, not the client's.
      throw new Error(
        `tessera/resource: introspection at ${endpoint} answered HTTP ${response.status}: ${await response.text()}`,
      );
    }
    return (await response.json()) as Record<string, unknown>;
  };

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = settings.now();
    let entry = cache.get(key);
    if (!entry || entry.until <= now) {
      const answer = ask(token);
      entry = { answer, until: now + settings.cacheTtl * 1000 };
      if (settings.cacheTtl > 0) {
        cache.set(key, entry);
        const stored = entry;
        answer.then(
          (body) => {
            // Never kept past the token's own expiry.
            if (typeof body.exp === 'number')
              stored.until = Math.min(stored.until, body.exp * 1000);
          },
          // A failure is not an answer: the next request asks again.
          () => cache.get(key) === stored && cache.delete(key),
        );
      }
    }
    const body = await entry.answer;
    if (body.active !== true) {
      throw new TokenError(
        'invalid_token',
        'the access token is not active (expired, revoked or unknown)',
      );
    }
    return body;
  };
}
