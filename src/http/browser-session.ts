import type { AppContext } from '../context.js';
import { randomToken } from '../lib/random.js';
import type { BrowserSession } from '../oauth/browser.js';
import { cookieOptions, DEVICE_COOKIE } from './cookies.js';
import { checkCsrf } from './csrf.js';
import { currentUser, signOut } from './session.js';

/** The browser session as the protocol endpoints see it: cookies and CSRF stay here. */
export function browserSession(ctx: AppContext): BrowserSession {
  return {
    signedIn: (request) => currentUser(ctx, request),
    checkForm: (request) => checkCsrf(ctx, request),
    signOut: (request, reply) => signOut(ctx, request, reply),
    deviceBinding(request, reply) {
      const held = request.cookies[DEVICE_COOKIE];
      if (held?.length === 43) return held;
      const value = randomToken(32);
      // As long as a device code lives: enough to sign in and answer.
      reply.setCookie(DEVICE_COOKIE, value, cookieOptions(ctx, ctx.config.deviceCodeTtl));
      return value;
    },
    boundDevice: (request) => request.cookies[DEVICE_COOKIE],
  };
}
