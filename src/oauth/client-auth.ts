import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { isClientIdLength } from '../domain/metadata-document.js';
import { MetadataDocumentError } from '../domain/metadata-documents.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { describeCodePoint, forbiddenInName } from '../lib/text.js';
import type { Client } from '../store/types.js';
import { type ReadAssertion, readAssertion, verifyAssertion } from './assertion.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { param, type RawParams } from './params.js';

export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none';

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
];

/** RFC 7523 §2.2: the one client_assertion_type there is. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
}

interface Credentials {
  clientId: string;
  secret: string | undefined;
  method: ClientAuthMethod;
  /** The client assertion (client_secret_jwt, private_key_jwt), read but not yet verified. */
  assertion?: { jwt: string; read: ReadAssertion };
}

const refuseAssertion = (description: string, cause?: unknown) =>
  new InvalidClient(
    `client authentication failed: ${description}`,
    cause === undefined ? undefined : { cause },
  );

/**
 * A client assertion (RFC 7523 §2.2, OpenID Connect Core §9): its type, and `iss` = `sub` =
 * the client id, which must be the body's client_id too when one is sent. Whether it is
 * client_secret_jwt or private_key_jwt follows from its alg (HS* is an HMAC of the secret).
 */
function assertionCredentials(params: RawParams): Credentials {
  const type = param(params, 'client_assertion_type');
  const jwt = param(params, 'client_assertion');
  if (type === undefined)
    throw new InvalidClient(`client_assertion_type is required with client_assertion`);
  if (type !== JWT_BEARER_ASSERTION_TYPE) {
    throw new InvalidClient(
      `client_assertion_type "${type}" is not supported: use ${JWT_BEARER_ASSERTION_TYPE}`,
    );
  }
  if (jwt === undefined)
    throw new InvalidClient('client_assertion is required with client_assertion_type');
  if (param(params, 'client_secret') !== undefined) {
    throw new InvalidRequest(
      'use one client authentication method: both client_assertion and client_secret were sent',
    );
  }
  const read = readAssertion(jwt, 'client_assertion', refuseAssertion);
  const { iss, sub } = read.claims;
  if (typeof sub !== 'string' || sub === '')
    throw refuseAssertion('client_assertion has no sub: it must be the client_id');
  if (iss !== sub)
    throw refuseAssertion('client_assertion must have iss and sub both equal to the client_id');
  const bodyId = param(params, 'client_id');
  if (bodyId !== undefined && bodyId !== sub)
    throw refuseAssertion('client_id in the body is not the sub of client_assertion');
  const method = read.alg.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt';
  return { clientId: sub, secret: undefined, method, assertion: { jwt, read } };
}

/**
 * Whether the request carries client credentials of any kind (a bare client_id proves nothing):
 * the JWT bearer grant may come without (RFC 7523 §3.1), its assertion then naming and proving
 * the client.
 */
export function presentsClientCredentials(request: FastifyRequest, params: RawParams): boolean {
  return (
    request.headers.authorization !== undefined ||
    params.client_secret !== undefined ||
    params.client_assertion !== undefined ||
    params.client_assertion_type !== undefined
  );
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
  const asserted =
    param(params, 'client_assertion') !== undefined ||
    param(params, 'client_assertion_type') !== undefined;
  // "Basic" with nothing after it (fetch trims the space) is still an attempt at Basic.
  if (header && /^basic(?:\s|$)/i.test(header)) {
    if (asserted) {
      throw new InvalidRequest(
        'use one client authentication method: both Basic credentials and client_assertion were sent',
      );
    }
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
  if (asserted) return assertionCredentials(params);
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
  client_secret_jwt: 'a JWT signed with its secret (client_secret_jwt)',
  private_key_jwt: 'a JWT signed with its registered private key (private_key_jwt)',
  none: 'only its client_id (none): it has no secret',
};

/**
 * The outcome of a request's authentication, kept with the request: the abuse limits may check
 * the credentials before the endpoint does (rate-limit.ts), and a client assertion can be used
 * only once, so the second check must not verify it again.
 */
const outcomes = new WeakMap<FastifyRequest, Promise<AuthenticatedClient>>();

/**
 * Authenticates the client of a token, revocation or introspection request
 * with the one method it registered (`token_endpoint_auth_method`), as
 * RFC 7591 §2 and OpenID Connect Core §9 intend: a client registered for Basic
 * cannot send its secret in the body, nor the reverse, and a public client
 * sends only its id; a client registered for client_secret_jwt or private_key_jwt sends a
 * client assertion (RFC 7523 §2.2) signed with its secret or its key, and nothing else. A
 * failure is a 401 invalid_client with the Basic challenge. Called twice for one request, it
 * answers the first outcome again.
 */
export function authenticateClient(
  ctx: AppContext,
  request: FastifyRequest,
  params: RawParams,
): Promise<AuthenticatedClient> {
  let outcome = outcomes.get(request);
  if (!outcome) {
    outcome = authenticate(ctx, request, params);
    outcomes.set(request, outcome);
  }
  return outcome;
}

async function authenticate(
  ctx: AppContext,
  request: FastifyRequest,
  params: RawParams,
): Promise<AuthenticatedClient> {
  const credentials = presentedCredentials(request, params);
  let client: Client | undefined;
  try {
    client = isClientIdLength(credentials.clientId)
      ? await ctx.clients.resolve(credentials.clientId)
      : undefined;
  } catch (error) {
    if (error instanceof MetadataDocumentError)
      throw new InvalidClient(`client authentication failed: ${error.message}`);
    throw error;
  }
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
  if (credentials.assertion) {
    const { jwt, read } = credentials.assertion;
    const { issuer, issuerPath } = ctx.config;
    // The endpoint receiving it (introspection, revocation, PAR…) may be its audience too; the
    // route's URL already starts with the issuer's path, so it goes after the origin.
    const origin = issuer.slice(0, issuer.length - issuerPath.length);
    const here = `${origin}${request.routeOptions.url ?? ''}`;
    await verifyAssertion(ctx, client, jwt, read, {
      what: 'client_assertion',
      keyType: credentials.method === 'client_secret_jwt' ? 'secret' : 'public',
      alg: client.tokenEndpointAuthSigningAlg,
      audiences: [...new Set([issuer, `${issuer}/token`, here])],
      refuse: refuseAssertion,
    });
  }
  return { client, method: credentials.method };
}
