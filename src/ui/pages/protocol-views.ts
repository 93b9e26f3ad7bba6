import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { ProtocolViews } from '../../oauth/views.js';
import { renderView, sendPage } from '../render.js';

/** The pages of the protocol endpoints: consent, the form_post response, and logout. */
export function protocolViews(ctx: AppContext): ProtocolViews {
  return {
    consent(request, reply, view) {
      return sendPage(ctx, request, reply, 'consent', {
        title: `Allow ${view.clientName}?`,
        signedInAs: view.username,
        ...view,
      });
    },

    formPost(_request, reply, action, fields) {
      // The one script on any page: it submits the form at once. Without JavaScript the button does.
      const nonce = randomBytes(16).toString('base64');
      const html = renderView('form-post', { title: 'Continue', action, fields, nonce });
      const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; form-action ${new URL(action).origin}; frame-ancestors 'none'; base-uri 'none'`;
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', csp)
        .header('cache-control', 'no-store')
        .send(html);
    },

    logoutConfirm(request, reply, view) {
      return sendPage(ctx, request, reply, 'logout-confirm', {
        title: 'Sign out?',
        // No header sign-out button here: the page's own form is the one to use.

        ...view,
      });
    },

    signedOut(request, reply) {
      return sendPage(ctx, request, reply, 'signed-out', { title: 'Signed out' });
    },
  };
}
