import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * SHA-256 of a high-entropy secret (code, token, client secret), base64url.
 * These values carry 256 random bits, so a fast hash is the right one: a slow
 * password hash would only cap throughput (see DESIGN.md).
 */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

export function hmacSha256(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

/** Compares two strings in time that depends only on their lengths. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    // Compare against itself so the work done does not reveal where they differ.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
