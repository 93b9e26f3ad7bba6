const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'file:',
  'vbscript:',
  'blob:',
  'about:',
]);

/** Spaces, control characters and `#` (a fragment): none belongs in a resource identifier. */
function hasForbiddenCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || code === 0x23 || /\s/.test(value[i]!)) return true;
  }
  return false;
}

/**
 * RFC 8707 §2: a resource (an API's identifier) is an absolute URI without a fragment. http is
 * allowed: an API on a developer's machine, or behind a proxy that speaks https for it.
 */
export function isResourceUri(value: string): boolean {
  if (value.length === 0 || value.length > 2048 || hasForbiddenCharacter(value)) return false;
  if (!URL.canParse(value)) return false;
  return !FORBIDDEN_SCHEMES.has(new URL(value).protocol);
}
