import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { AuthorizeViews } from '../../oauth/authorize/views.js';
import { renderView, sendPage } from '../render.js';

/** The pages of the authorization endpoint: consent, and the form_post response. */
export function authorizeViews(ctx: AppContext): AuthorizeViews {
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
  };
}
