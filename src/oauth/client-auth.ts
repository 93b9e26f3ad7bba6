import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { describeCodePoint, forbiddenInName } from '../lib/text.js';
import type { Client } from '../store/types.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { param, type RawParams } from './params.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'none',
];

export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
}

interface Credentials {
  clientId: string;
  secret: string | undefined;
  method: ClientAuthMethod;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * The id and secret of `Basic` credentials (RFC 6749 §2.3.1), or undefined when the header is not
 * well-formed Basic credentials. Checks nothing else; client-id.ts reads the id with it too.
 */
export function decodeBasic(header: string): { clientId: string; secret: string } | undefined {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

function basicCredentials(header: string): Credentials {
  const basic = decodeBasic(header);
  if (!basic) throw new InvalidClient('the Authorization header is not valid Basic credentials');
  // Decoded here, so not seen by the input check of http/input.ts (a NUL was a 500 on PostgreSQL).
  const code = forbiddenInName(`${basic.clientId}:${basic.secret}`);
  if (code !== undefined)
    throw new InvalidRequest(`the Basic credentials hold ${describeCodePoint(code)}`);
  return { ...basic, method: 'client_secret_basic' };
}

function presentedCredentials(request: FastifyRequest, params: RawParams): Credentials {
  const header = request.headers.authorization;
  const bodyId = param(params, 'client_id');
  const bodySecret = param(params, 'client_secret');
  if (
    param(params, 'client_assertion') !== undefined ||
    param(params, 'client_assertion_type') !== undefined
  ) {
    throw new InvalidClient(
      'client assertions are not supported: use client_secret_basic or client_secret_post',
    );
  }
  // "Basic" with nothing after it (fetch trims the space) is still an attempt at Basic.
  if (header && /^basic(?:\s|$)/i.test(header)) {
    const basic = basicCredentials(header);
    if (bodySecret !== undefined) {
      throw new InvalidRequest(
        'use one client authentication method: both Basic credentials and client_secret were sent',
      );
    }
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new InvalidRequest('client_id in the body does not match the Basic credentials');
    }
    return basic;
  }
  if (bodyId === undefined) {
    throw new InvalidClient('client authentication failed: no client credentials were sent');
  }
  return bodySecret !== undefined
    ? { clientId: bodyId, secret: bodySecret, method: 'client_secret_post' }
    : { clientId: bodyId, secret: undefined, method: 'none' };
}

export function secretMatches(client: Client, secret: string): boolean {
  return client.secretHash !== null && safeEqual(sha256(secret), client.secretHash);
}

/** How a refusal describes the method a client registered. */
const METHOD_WORDS: Record<ClientAuthMethod, string> = {
  client_secret_basic: 'its secret in HTTP Basic credentials (client_secret_basic)',
  client_secret_post: 'client_id and client_secret in the request body (client_secret_post)',
  none: 'only its client_id (none): it has no secret',
};

/**
 * Authenticates the client of a token, revocation or introspection request
 * with the one method it registered (`token_endpoint_auth_method`), as
 * RFC 7591 §2 and OpenID Connect Core §9 intend: a client registered for Basic
 * cannot send its secret in the body, nor the reverse, and a public client
 * sends only its id. A failure is a 401 invalid_client with the Basic challenge.
 */
export async function authenticateClient(
  ctx: AppContext,
  request: FastifyRequest,
  params: RawParams,
): Promise<AuthenticatedClient> {
  const credentials = presentedCredentials(request, params);
  const client =
    credentials.clientId.length <= 200 ? await ctx.clients.get(credentials.clientId) : undefined;
  if (!client) throw new InvalidClient('client authentication failed: unknown client');
  const registered = client.tokenEndpointAuthMethod;
  if (credentials.method !== registered) {
    throw new InvalidClient(
      `client authentication failed: this client must authenticate with ${METHOD_WORDS[registered]}`,
    );
  }
  if (credentials.secret !== undefined && !secretMatches(client, credentials.secret)) {
    throw new InvalidClient('client authentication failed: wrong client secret');
  }
  return { client, method: credentials.method };
}
