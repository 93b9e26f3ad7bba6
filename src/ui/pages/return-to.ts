/**
 * Where a page sends people when no safe `return_to` was given. Like every `return_to`, a path
 * under the issuer's: the pages put the issuer's path (config.issuerPath) in front when they redirect.
 */
export const DEFAULT_RETURN_TO = '/account';

// Long enough for an /authorize request carried through sign-in, short enough to bound the page.
const MAX_LENGTH = 8192;
const BASE = 'http://tessera.invalid';

/** Backslashes are slashes to browsers; controls and spaces are stripped or mangled by them. */
function hasUnsafeCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return /\s/.test(value);
}

/**
 * Characters outside ASCII, percent-encoded as UTF-8 the way a browser sends
 * them; undefined for an unpaired surrogate, which has no encoding.
 */
function asciiOnly(value: string): string | undefined {
  try {
    return value.replace(/[\u0080-\uffff]+/g, encodeURIComponent);
  } catch {
    return undefined;
  }
}

/** A "." or ".." segment, written plainly or percent-encoded: browsers resolve both. */
function hasDotSegment(path: string): boolean {
  return path
    .split(/[?#]/, 1)[0]!
    .split('/')
    .some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
}

/**
 * `value` when it is a same-origin relative path, else undefined. A path
 * starts with one "/" (not "//" or "/\\", which browsers read as another
 * host), has no scheme, no backslash and no control or space characters, so
 * that a link crafted by someone else can never send a person off-site
 * after they sign in (an open redirect). Characters outside ASCII come back
 * percent-encoded: the value goes into a Location header, which holds only
 * Latin-1, and anything past U+00FF there was a 500 after sign-in had
 * already started the session. No "." or ".." segment: the path goes after
 * the issuer's, and `/tenant-a/../elsewhere` would leave it.
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH)
    return undefined;
  if (!value.startsWith('/') || value.startsWith('//')) return undefined;
  if (hasUnsafeCharacter(value) || hasDotSegment(value)) return undefined;
  const path = asciiOnly(value);
  if (path === undefined || path.length > MAX_LENGTH) return undefined;
  try {
    const resolved = new URL(path, BASE);
    if (resolved.origin !== BASE) return undefined;
  } catch {
    return undefined;
  }
  return path;
}

/** The safe `return_to`, or the account page. */
export function returnToOrDefault(value: unknown): string {
  return safeReturnTo(value) ?? DEFAULT_RETURN_TO;
}
