/**
 * RFC 8707 §2: a resource (an API's identifier) is an absolute URI without a fragment. http is
 * allowed: an API on a developer's machine, or behind a proxy that speaks https for it.
 */
export function isResourceUri(value: string): boolean {
  if (value.length === 0 || value.length > 2048 || /[\s\u0000-\u001f\u007f#]/.test(value)) {
    return false;
  }
  if (!URL.canParse(value)) return false;
  const scheme = new URL(value).protocol;
  return !['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:'].includes(scheme);
}
