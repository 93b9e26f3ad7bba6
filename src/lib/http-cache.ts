import type { IncomingHttpHeaders } from 'node:http';

/** The bounds a fetched document's lifetime is held within, in seconds. */
export interface LifetimeBounds {
  /** When the answer says nothing (no Cache-Control lifetime, no Expires). */
  fallback: number;
  /**
   * The shortest lifetime kept: any lifetime below it, `no-store`, `no-cache` and `max-age=0`
   * included, is raised to it.
   */
  min: number;
  /** The longest: a document can change, so it is fetched again at least this often. */
  max: number;
}

/**
 * How long an answer may be reused, in seconds, from its headers (RFC 9111 §4.2.1): `max-age`,
 * else `Expires` minus `Date` (or `now`), else the fallback, clamped to [min, max]. `no-store`,
 * `no-cache`, `max-age=0` and an invalid or past lifetime get the minimum too: Tessera is not a
 * shared HTTP cache but the checker of a client's settings, and a document that asked to be
 * fetched at every use would turn each /authorize and /token request into an outbound fetch.
 * A huge lifetime cannot pin a document for a year either.
 */
export function cacheLifetime(
  headers: IncomingHttpHeaders,
  nowMs: number,
  bounds: LifetimeBounds,
): number {
  const directives = (headers['cache-control'] ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return bounds.min;
  let seconds: number | undefined;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  if (maxAge !== undefined) {
    const value = maxAge.slice('max-age='.length).replace(/^"|"$/g, '');
    // An invalid max-age makes the answer stale (RFC 9111 §4.2.1).
    seconds = /^\d+$/.test(value) ? Number(value) : 0;
  } else if (headers.expires !== undefined) {
    const expires = Date.parse(headers.expires);
    const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
    // An invalid Expires, "0" among them, means already expired (RFC 9111 §5.3).
    seconds = Number.isNaN(expires)
      ? 0
      : Math.floor((expires - (Number.isNaN(date) ? nowMs : date)) / 1000);
  }
  if (seconds === undefined) return bounds.fallback;
  return Math.min(bounds.max, Math.max(bounds.min, seconds));
}
