import type { AppContext } from '../context.js';
import type { BrowserSession } from '../oauth/browser.js';
import { checkCsrf } from './csrf.js';
import { currentUser, signOut } from './session.js';

/** The browser session as the protocol endpoints see it: cookies and CSRF stay here. */
export function browserSession(ctx: AppContext): BrowserSession {
  return {
    signedIn: (request) => currentUser(ctx, request),
    checkForm: (request) => checkCsrf(ctx, request),
    signOut: (request, reply) => signOut(ctx, request, reply),
  };
}
