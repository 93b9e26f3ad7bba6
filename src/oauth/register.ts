import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { TooManyAttempts, ValidationError } from '../domain/errors.js';
import {
  deleteRegistration,
  RegistrationAccessDenied,
  readRegistration,
  registerClient,
  updateRegistration,
} from '../domain/registration.js';
import { InitialTokenRefused } from '../domain/registration-tokens.js';
import {
  InvalidClientMetadata,
  InvalidRedirectUri,
  InvalidRequest,
  InvalidToken,
} from './errors.js';
import { registrationRequest, registrationResponse } from './registration-wire.js';

/**
 * Dynamic client registration at /register (RFC 7591 §3) and the client configuration endpoint
 * at /register/{client_id} (RFC 7592), registered only when TESSERA_REGISTRATION is not off.
 * The domain (domain/registration.ts) owns the rules; this file translates them.
 */

/** Registration bodies are a few hundred bytes; 16 KiB leaves room for an inline JWK Set. */
export const REGISTRATION_BODY_LIMIT = 16 * 1024;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The Bearer token of the Authorization header; undefined when there is none or it is malformed. */
function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}

function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new InvalidRequest('client metadata is sent as application/json (RFC 7591 §3.1)');
}

/** Domain refusals in RFC 7591 §3.2.2 and RFC 6750 terms. */
async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValidationError) {
      throw error.field === 'redirect_uris'
        ? new InvalidRedirectUri(error.message)
        : new InvalidClientMetadata(error.message);
    }
    if (error instanceof InitialTokenRefused || error instanceof RegistrationAccessDenied)
      throw new InvalidToken(error.message);
    throw error;
  }
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send(body);
}

export function registerRegistrationEndpoint(app: FastifyInstance, ctx: AppContext): void {
  const issuer = ctx.config.issuer;
  const options = { bodyLimit: REGISTRATION_BODY_LIMIT };

  app.post('/register', options, async (request, reply) => {
    // Every attempt counts, so the quota also bounds guesses at initial access tokens.
    const wait = await ctx.throttle.registration(request.ip);
    if (wait > 0)
      throw new TooManyAttempts(
        wait,
        `too many registrations from this address: try again in ${wait} seconds`,
      );
    const made = await translated(async () => {
      const token = bearer(request);
      // Before the metadata: without a token, none of it is checked (nor its content type).
      if (ctx.config.registration === 'token' && token === undefined)
        throw new InvalidToken('an initial access token is required to register a client');
      requireJson(request);
      return registerClient(ctx, registrationRequest(request.body), {
        initialToken: token,
        ip: request.ip,
      });
    });
    return send(reply, 201, registrationResponse(issuer, made));
  });

  app.get<{ Params: { id: string } }>('/register/:id', async (request, reply) => {
    const found = await translated(() => readRegistration(ctx, request.params.id, bearer(request)));
    return send(reply, 200, registrationResponse(issuer, found));
  });

  app.put<{ Params: { id: string } }>('/register/:id', options, async (request, reply) => {
    const updated = await translated(async () => {
      const token = bearer(request);
      if (token === undefined) throw new InvalidToken('a registration access token is required');
      requireJson(request);
      const body = request.body as Record<string, unknown> | null;
      return updateRegistration(ctx, request.params.id, token, registrationRequest(body), {
        clientId: body?.client_id,
        clientSecret: body?.client_secret,
      });
    });
    return send(reply, 200, registrationResponse(issuer, updated));
  });

  app.delete<{ Params: { id: string } }>('/register/:id', async (request, reply) => {
    await translated(() => deleteRegistration(ctx, request.params.id, bearer(request)));
    return reply.code(204).header('cache-control', 'no-store').send();
  });
}
