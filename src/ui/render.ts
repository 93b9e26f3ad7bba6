import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { csrfToken } from '../http/csrf.js';
import type { ErrorPageRenderer } from '../http/errors.js';

const eta = new Eta({
  views: fileURLToPath(new URL('./views', import.meta.url)),
  autoEscape: true,
  autoTrim: false,
  cache: true,
});

/** Data every page template may use. */
export interface PageData {
  title: string;
  /** The hidden CSRF field's value, for pages with a form. */
  csrf?: string;
  /** The signed-in person's display name, for the header. */
  signedInAs?: string;
  [key: string]: unknown;
}

/**
 * Renders `views/<template>.eta` inside the layout. `base` is the issuer's path ("" or e.g.
 * "/tenant-a"): every link, form action and asset the templates name starts with it.
 */
export function renderView(template: string, data: PageData & { base: string }): string {
  return eta.render(template, data);
}

/** Sends a page; adds a CSRF token to its data. */
export function sendPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  template: string,
  data: PageData,
  status = 200,
): FastifyReply {
  const html = renderView(template, {
    ...data,
    base: ctx.config.issuerPath,
    siteName: ctx.config.siteName,
    csrf: csrfToken(ctx, request, reply),
  });
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** The error page the HTTP error handler shows for page routes, its links under `base` (the issuer's path). */
export function errorPages(base: string): ErrorPageRenderer {
  return (_request, reply, status, body) => {
    const html = renderView('error', {
      base,
      title: status === 404 ? 'Not found' : 'Something went wrong',
      error: body.error,
      description: body.error_description,
      requestId: body.request_id,
    });
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  };
}
