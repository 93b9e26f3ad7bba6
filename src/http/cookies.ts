import type { AppContext } from '../context.js';

/** The browser session's cookie: its value is the session secret, stored only hashed. */
export const SESSION_COOKIE = 'tessera_session';
/** The CSRF seed cookie (see csrf.ts). */
export const CSRF_COOKIE = 'tessera_csrf';
/** Ties a device code checked at /device to the browser that typed it (oauth/device/verification.ts). */
export const DEVICE_COOKIE = 'tessera_device';
/** A random id a browser keeps for 400 days, so a sign-in from another one is noticed (ui/pages/known-browser.ts). */
export const BROWSER_COOKIE = 'tessera_browser';

/**
 * Every cookie lives under the issuer's path, so that two Tesseras under two paths of one host
 * (https://id.example.com/tenant-a and …/tenant-b) never see each other's sessions.
 */
export function cookieOptions(ctx: AppContext, maxAge?: number) {
  return {
    path: ctx.config.issuerPath || '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: ctx.config.issuer.startsWith('https:'),
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}
