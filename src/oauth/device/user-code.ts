import { randomBytes } from 'node:crypto';

/**
 * RFC 8628 §6.1: consonants only, without look-alikes (no vowels, so no words; no I, O, U, Y),
 * all upper case. Eight of them give 20^8 ≈ 2^34.6 codes: guessing one of the few live codes
 * within their ten minutes, at the per-address limit of /device, is hopeless (§5.1).
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const LENGTH = 8;
// The largest multiple of 20 below 256: bytes at or above it are drawn again, so that every
// letter is equally likely.
const UNBIASED = 240;

/** A fresh user code, normalised (eight letters, no dash). */
export function newUserCode(): string {
  let code = '';
  while (code.length < LENGTH) {
    for (const byte of randomBytes(LENGTH * 2)) {
      if (byte >= UNBIASED) continue;
      code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
      if (code.length === LENGTH) break;
    }
  }
  return code;
}

/** How a person reads it: `BCDF-GHJK`. */
export const displayUserCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`;

/**
 * What a person typed, normalised the way codes are stored (RFC 8628 §6.1): case ignored, dashes
 * and spaces dropped. Undefined when the result cannot be a user code at all.
 */
export function normaliseUserCode(typed: string): string | undefined {
  if (typed.length > 64) return undefined;
  const letters = typed.replace(/[\s-]+/g, '').toUpperCase();
  if (letters.length !== LENGTH) return undefined;
  for (const letter of letters) if (!USER_CODE_ALPHABET.includes(letter)) return undefined;
  return letters;
}
