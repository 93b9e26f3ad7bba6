import type { FastifyInstance } from 'fastify';
import { startSession } from '../../src/domain/sessions.js';
import { CSRF_COOKIE, CSRF_FIELD } from '../../src/http/csrf.js';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { hmacSha256 } from '../../src/lib/hash.js';
import { randomToken } from '../../src/lib/random.js';
import type { User } from '../../src/store/types.js';
import { TEST_SECRET } from './config.js';
import { makeUser } from './oauth.js';

/** What an inject() request needs to act as a signed-in person posting our forms. */
export interface Identity {
  user: User;
  sessionId: string;
  /** The Cookie header: session and CSRF cookies. */
  cookie: string;
  /** The form field that goes with the CSRF cookie. */
  csrf: { [CSRF_FIELD]: string };
}

/**
 * A person with a session and a CSRF cookie, made directly (the sign-in page
 * and the CSRF check have their own tests): the token is the HMAC our forms carry.
 */
export async function signedInIdentity(app: FastifyInstance): Promise<Identity> {
  const { user } = await makeUser(app.tessera);
  const { session, secret } = await startSession(app.tessera, { userId: user.id, amr: ['pwd'] });
  const seed = randomToken(32);
  return {
    user,
    sessionId: session.id,
    cookie: `${SESSION_COOKIE}=${secret}; ${CSRF_COOKIE}=${seed}`,
    csrf: { [CSRF_FIELD]: hmacSha256(TEST_SECRET, `csrf:${seed}`) },
  };
}

/** A CSRF cookie and its form token, without a session (sign-in and sign-up forms). */
export function csrfPair(): { cookie: string; csrf: { [CSRF_FIELD]: string } } {
  const seed = randomToken(32);
  return {
    cookie: `${CSRF_COOKIE}=${seed}`,
    csrf: { [CSRF_FIELD]: hmacSha256(TEST_SECRET, `csrf:${seed}`) },
  };
}
