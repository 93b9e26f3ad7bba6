import { randomBytes } from 'node:crypto';
import { hmacSha256 } from '../lib/hash.js';

/** How many recovery codes a person gets at a time. */
export const RECOVERY_CODE_COUNT = 10;

/** RFC 4648's base32 alphabet, lower-cased: no 0, 1 or 8 to mistake for o, l or b. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LENGTH = 10;

/**
 * Ten new recovery codes, as shown to the person: ten base32 characters (50 random bits)
 * grouped `xxxxx-xxxxx`. Fifty bits are plenty for a code that is tried online within the
 * second-factor limit, and short enough to copy from paper.
 */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    // 256 is a multiple of 32: each byte's low five bits are uniform.
    const chars = [...randomBytes(LENGTH)].map((byte) => ALPHABET[byte & 31]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/**
 * The code as stored and compared: lower case, without spaces or dashes, with the digits people
 * type for look-alike letters (0 for o, 1 for l, 8 for b) read as those letters. Undefined when
 * what was typed cannot be a recovery code.
 */
export function normaliseRecoveryCode(typed: string): string | undefined {
  const code = typed
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/0/g, 'o')
    .replace(/1/g, 'l')
    .replace(/8/g, 'b');
  return /^[a-z2-7]{10}$/.test(code) ? code : undefined;
}

/**
 * What is stored of a recovery code: an HMAC under the instance secret, bound to its person, so
 * that a copy of the database alone cannot be searched for codes (fifty bits would fall to a
 * plain hash), and the code is found by its hash (no comparison that leaks time).
 */
export function recoveryCodeHash(secret: string, userId: string, code: string): string {
  return hmacSha256(secret, `recovery-code:${userId}:${code}`);
}
