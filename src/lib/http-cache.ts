import type { IncomingHttpHeaders } from 'node:http';

/** The bounds a fetched document's lifetime is held within, in seconds. */
export interface LifetimeBounds {
  /** When the answer says nothing (no Cache-Control lifetime, no Expires). */
  fallback: number;
  /** The shortest lifetime kept: a positive max-age below it is raised to it. */
  min: number;
  /** The longest: a document can change, so it is fetched again at least this often. */
  max: number;
}

/**
 * How long an answer may be reused, in seconds, from its headers (RFC 9111 §4.2.1): 0 for
 * `no-store`, `no-cache` or `max-age=0` (fetched again at each use), else `max-age`, else
 * `Expires` minus `Date` (or `now`), else the fallback; a positive lifetime is clamped to
 * [min, max], so a tiny max-age cannot make every request a fetch and a huge one cannot pin a
 * document for a year.
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
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
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
  if (seconds <= 0) return 0;
  return Math.min(bounds.max, Math.max(bounds.min, seconds));
}
