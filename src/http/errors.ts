import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ConflictError,
  NotFoundError,
  TooManyAttempts,
  ValidationError,
} from '../domain/errors.js';
import { ERRORS, type ErrorBody, statusOf } from '../error-catalogue.js';
import { OAuthError } from '../oauth/errors.js';
import { StoreUnavailableError } from '../store/types.js';
import { BODY_LIMIT } from './body.js';
import { CsrfError } from './csrf.js';

/** The statuses invalid_request comes with on every surface (error-catalogue.ts). */
const MALFORMED_STATUSES: readonly number[] = ERRORS.invalid_request.surfaces.admin;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers with HTML: errors become pages, not JSON. */
    page?: boolean;
  }
}

export type { ErrorBody };

/** Renders an error as an HTML page; provided by ui/. */
export type ErrorPageRenderer = (
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  body: ErrorBody,
) => FastifyReply;

/** Maps framework errors (body parsing, schema validation) to a status and a message naming the problem. */
function frameworkError(
  error: FastifyError,
  bodyLimit: number,
): { status: number; body: ErrorBody } | undefined {
  if (error.validation) {
    const first = error.validation[0];
    const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.');
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = missing ?? path ?? undefined;
    const where = error.validationContext ?? 'request';
    const message = field
      ? `${where} field "${field}" ${first?.message ?? 'is invalid'}`
      : `${where} ${first?.message ?? 'is invalid'}`;
    return {
      status: 400,
      body: { error: 'invalid_request', error_description: message, ...(field ? { field } : {}) },
    };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: {
          error: 'invalid_request',
          // The route's own limit: /register takes less than the 64 KiB of the others.
          error_description: `request body is larger than ${Math.floor(bodyLimit / 1024)} KiB`,
        },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: {
          error: 'invalid_request',
          error_description:
            'unsupported content type: send application/x-www-form-urlencoded or application/json',
        },
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'the JSON body is empty' },
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'the body is not valid JSON' },
      };
  }
  if (error instanceof SyntaxError) {
    return {
      status: 400,
      body: { error: 'invalid_request', error_description: 'the body is not valid JSON' },
    };
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    // Only a status the catalogue lists for invalid_request: another 4xx of the framework's is
    // still a malformed request, answered as the catalogue says.
    return {
      status: MALFORMED_STATUSES.includes(error.statusCode) ? error.statusCode : 400,
      body: { error: 'invalid_request', error_description: error.message },
    };
  }
  return undefined;
}

/**
 * Fastify's `frameworkErrors`: the two URL errors its router answers before any
 * route or error handler runs, in our shape instead of Fastify's own body (which
 * named its internal code and echoed the path back).
 */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const [status, description] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? [414, 'a segment of the URL path is too long']
      : [400, 'the URL path is not valid (check its percent-encoding)'];
  const body: ErrorBody = { error: 'invalid_request', error_description: description };
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

/** The one error handler: OAuth errors, domain errors, framework errors, and bugs (500). */
export function registerErrorHandler(app: FastifyInstance, renderPage: ErrorPageRenderer): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status: number;
    let body: ErrorBody;
    if (error instanceof OAuthError) {
      status = error.status;
      body = error.toJSON();
      reply.headers(error.headers);
      if (status >= 500) request.log.error({ err: error.cause ?? error }, 'server error');
    } else if (error instanceof ValidationError) {
      status = 400;
      body = { error: 'invalid_request', error_description: error.message, field: error.field };
    } else if (error instanceof CsrfError) {
      status = 403;
      body = { error: 'invalid_request', error_description: error.message };
    } else if (error instanceof ConflictError) {
      status = statusOf('conflict');
      body = { error: 'conflict', error_description: error.message, field: error.field };
    } else if (error instanceof TooManyAttempts) {
      status = statusOf('too_many_requests');
      body = { error: 'too_many_requests', error_description: error.message };
      reply.header('retry-after', String(error.retryAfter));
    } else if (error instanceof NotFoundError) {
      status = statusOf('not_found');
      body = { error: 'not_found', error_description: error.message };
    } else if (error instanceof StoreUnavailableError) {
      // Not a bug and not the client's fault: the database is locked elsewhere or unreachable.
      status = statusOf('temporarily_unavailable');
      reply.header('retry-after', String(error.retryAfter));
      body = { error: 'temporarily_unavailable', error_description: error.message };
      request.log.warn({ err: error }, 'database unavailable: answered 503');
    } else {
      const known = frameworkError(error, request.routeOptions.bodyLimit ?? BODY_LIMIT);
      if (known) {
        ({ status, body } = known);
      } else {
        request.log.error({ err: error }, 'unexpected error');
        status = statusOf('server_error');
        body = {
          error: 'server_error',
          error_description: 'an unexpected error occurred; it has been logged',
          request_id: String(request.id),
        };
      }
    }
    if (request.routeOptions.config?.page) return renderPage(request, reply, status, body);
    return reply.code(status).header('cache-control', 'no-store').send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      error: 'not_found',
      error_description: `no route for ${request.method} ${request.url.split('?')[0]}`,
    };
    if (request.headers.accept?.includes('text/html')) return renderPage(request, reply, 404, body);
    return reply.code(404).send(body);
  });
}
