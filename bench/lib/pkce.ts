import { randomToken } from '../../src/lib/random.js';
import { s256 } from '../../src/oauth/pkce.js';

/** A PKCE verifier and its S256 challenge (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomToken(32);
  return { verifier, challenge: s256(verifier) };
}
