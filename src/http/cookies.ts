import type { AppContext } from '../context.js';

/** The browser session's cookie: its value is the session secret, stored only hashed. */
export const SESSION_COOKIE = 'tessera_session';
/** The CSRF seed cookie (see csrf.ts). */
export const CSRF_COOKIE = 'tessera_csrf';

export function cookieOptions(ctx: AppContext, maxAge?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: ctx.config.issuer.startsWith('https:'),
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}
