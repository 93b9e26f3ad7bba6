import { createHash } from 'node:crypto';
import { safeEqual } from '../lib/hash.js';

/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A code challenge has the same shape as a verifier; an S256 one is exactly 43 characters. */
export const isValidChallenge = (value: string): boolean => VERIFIER.test(value);

export const isValidVerifier = (value: string): boolean => VERIFIER.test(value);

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function verifierMatches(verifier: string, challenge: string): boolean {
  return isValidVerifier(verifier) && safeEqual(s256(verifier), challenge);
}
