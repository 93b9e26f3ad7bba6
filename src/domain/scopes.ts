/** The longest scope token a client may be registered with. */
export const MAX_SCOPE_LENGTH = 100;

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), i.e. printable ASCII
// without space, `"` and `\`.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `value` is one scope token as RFC 6749 §3.3 defines it, at most 100 characters. */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SCOPE_LENGTH && SCOPE_TOKEN.test(value);
}
