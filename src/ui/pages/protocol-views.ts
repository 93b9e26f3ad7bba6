import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { ProtocolViews } from '../../oauth/views.js';
import { renderView, sendPage } from '../render.js';

/**
 * The CSP source that lets the form_post page post to `action`, a registered redirect URI: its
 * scheme, host, port and path for http(s) (query dropped: CSP ignores it), or its scheme alone for
 * a private-use scheme such as `com.example.app:`, which has no host for a source to name. Spaces,
 * commas and semicolons cannot end the directive early: they are percent-encoded.
 */
export function formActionSource(action: string): string {
  const url = new URL(action);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return url.protocol;
  return `${url.protocol}//${url.host}${url.pathname}`.replace(
    /[\s;,']/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** The pages of the protocol endpoints: consent, the account chooser, the form_post response, logout and the device pages. */
export function protocolViews(ctx: AppContext): ProtocolViews {
  return {
    consent(request, reply, view) {
      return sendPage(ctx, request, reply, 'consent', {
        title: `Allow ${view.selfDescribed?.host ?? view.clientName}?`,
        signedInAs: view.username,
        ...view,
      });
    },

    selectAccount(request, reply, view) {
      // No header sign-out button here: the page is about the signed-in person already.
      return sendPage(ctx, request, reply, 'select-account', {
        title: 'Choose an account',
        ...view,
      });
    },

    formPost(_request, reply, action, fields) {
      // The one script on any page: it submits the form at once. Without JavaScript the button does.
      const nonce = randomBytes(16).toString('base64');
      const html = renderView('form-post', {
        base: ctx.config.issuerPath,
        title: 'Continue',
        action,
        fields,
        nonce,
      });
      const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; form-action ${formActionSource(action)}; frame-ancestors 'none'; base-uri 'none'`;
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

    deviceCode(request, reply, view, status = 200) {
      const { error, ...rest } = view;
      return sendPage(
        ctx,
        request,
        reply,
        'device',
        { title: 'Connect a device', ...rest, ...(error ? { error: { message: error } } : {}) },
        status,
      );
    },

    deviceConsent(request, reply, view) {
      return sendPage(ctx, request, reply, 'device-consent', {
        title: `Allow ${view.clientName} on a device?`,
        signedInAs: view.username,
        ...view,
      });
    },

    deviceDone(request, reply, view) {
      return sendPage(ctx, request, reply, 'device-done', {
        title: view.allowed ? 'Device connected' : 'Device not connected',
        signedInAs: view.username,
        ...view,
      });
    },
  };
}
