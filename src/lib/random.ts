import { randomBytes } from 'node:crypto';

/** A URL-safe random string carrying `bytes` bytes of entropy (32 bytes = 256 bits by default). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A shorter random identifier for records whose id is public (users, clients, sessions). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}
