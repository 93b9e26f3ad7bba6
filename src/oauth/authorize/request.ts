import type { AppContext } from '../../context.js';
import { RESPONSE_TYPES } from '../../domain/client-rules.js';
import { isClientIdLength } from '../../domain/metadata-document.js';
import { MetadataDocumentError } from '../../domain/metadata-documents.js';
import type { Api, Client } from '../../store/types.js';
import type { AcrRequest } from '../acr-request.js';
import { isThumbprint } from '../dpop.js';
import {
  InvalidRequest,
  RequestNotSupported,
  RequestUriNotSupported,
  UnauthorizedClient,
  UnsafeRedirect,
  UnsupportedResponseType,
} from '../errors.js';
import { param, type RawParams } from '../params.js';
import { isValidChallenge } from '../pkce.js';
import { checkAllowed, parseScope } from '../scopes.js';
import { checkSignInParameters } from './sign-in-parameters.js';

export { RESPONSE_TYPES };
export type ResponseType = (typeof RESPONSE_TYPES)[number];
export const RESPONSE_MODES = ['query', 'fragment', 'form_post'] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];

/**
 * The parameters an authorization request may carry (RFC 6749 §4.1.1, OpenID Connect Core
 * §3.1.2.1, RFC 7636): only these are kept to resume the request after sign-in or consent, so
 * nothing else a link carries travels through the sign-in page.
 */
const AUTHORIZE_PARAMETERS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'response_mode',
  'nonce',
  'display',
  'prompt',
  'max_age',
  'ui_locales',
  'claims_locales',
  'id_token_hint',
  'login_hint',
  'acr_values',
  'claims',
  'code_challenge',
  'code_challenge_method',
  // Google's incremental authorization parameter (docs/oauth.md, "Asking for more later").
  'include_granted_scopes',
  'dpop_jkt',
  // RFC 8707: may be repeated; kept space-separated (rawParams).
  'resource',
]);

/** Where and how the authorization response goes; known once the client and redirect URI are. */
export interface ResponseTarget {
  redirectUri: string;
  responseMode: ResponseMode;
  state: string | undefined;
}

/** A validated authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1). */
export interface AuthorizationRequest extends ResponseTarget {
  client: Client;
  /** The redirect_uri exactly as sent, or '' when it was omitted (the code remembers this). */
  redirectUriAsSent: string;
  responseType: ResponseType;
  scopes: string[];
  /**
   * include_granted_scopes=true: the code and its tokens carry, besides `scopes`, what the person
   * granted this client before and the client may still ask for (complete.ts).
   */
  includeGrantedScopes: boolean;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  /** RFC 9449 §10: the thumbprint of the DPoP key the code is bound to. */
  dpopJkt: string | undefined;
  /** The registered APIs `resource` named (RFC 8707), each allowed to the client; in order. */
  apis: Api[];
  prompt: Set<string>;
  /** max_age, or the client's default_max_age when the request has none. */
  maxAge: number | undefined;
  /** The sign-in class asked for (acr_values, claims.id_token.acr); undefined if none. */
  acr: AcrRequest | undefined;
  loginHint: string | undefined;
  idTokenHint: string | undefined;
  /**
   * The `claims` parameter limited to the claims the client may have, with `auth_time` when
   * max_age asks for it, as JSON; undefined if none.
   */
  claims: string | undefined;
  /** The names `claims` asks for: each is shown on the consent page unless a scope covers it. */
  claimNames: string[];
  /**
   * The parameters as received, to resume the request after sign-in or consent; for a pushed
   * request, only `client_id` and `request_uri` (the rest stays on the server, pushed.ts).
   */
  raw: Record<string, string>;
  /** The id of the pushed request (RFC 9126) this came from, finished when it is answered. */
  pushed: string | undefined;
}

const IMPLICIT = new Set(['token', 'id_token', 'id_token token', 'token id_token']);

/** Normalises the order of space-separated response_type values ("id_token code" is "code id_token"). */
function normaliseResponseType(value: string): string {
  const order = ['code', 'id_token', 'token'];
  const parts = value.split(' ').filter(Boolean);
  return [...parts].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(' ');
}

/** Step 1: the client. An unknown client gets an error page, never a redirect. */
export async function loadClient(ctx: AppContext, params: RawParams): Promise<Client> {
  let clientId: string | undefined;
  try {
    clientId = param(params, 'client_id');
  } catch {
    throw new UnsafeRedirect('invalid_request', 'client_id was sent more than once');
  }
  if (!clientId) throw new UnsafeRedirect('invalid_request', 'client_id is required');
  let client: Client | undefined;
  try {
    client = isClientIdLength(clientId) ? await ctx.clients.resolve(clientId) : undefined;
  } catch (error) {
    // Never a redirect: the redirect URIs of a refused document cannot be trusted.
    if (error instanceof MetadataDocumentError)
      throw new UnsafeRedirect('invalid_client', error.message);
    throw error;
  }
  if (!client)
    throw new UnsafeRedirect(
      'invalid_client',
      'unknown client_id: no client is registered with this id',
    );
  return client;
}

/** Step 2: the redirect URI, by exact string match (RFC 9700 §4.1.3); an error page when it does not match. */
export function checkRedirectUri(
  client: Client,
  params: RawParams,
): { redirectUri: string; asSent: string } {
  let sent: string | undefined;
  try {
    sent = param(params, 'redirect_uri');
  } catch {
    throw new UnsafeRedirect('invalid_request', 'redirect_uri was sent more than once');
  }
  if (sent === undefined) {
    if (client.redirectUris.length === 1)
      return { redirectUri: client.redirectUris[0]!, asSent: '' };
    throw new UnsafeRedirect(
      'invalid_request',
      client.redirectUris.length === 0
        ? 'this client has no registered redirect URI'
        : 'redirect_uri is required: this client has more than one registered',
    );
  }
  if (!client.redirectUris.includes(sent) && !matchesLoopback(client.redirectUris, sent)) {
    throw new UnsafeRedirect(
      'invalid_request',
      'redirect_uri does not match any redirect URI registered for this client',
    );
  }
  return { redirectUri: sent, asSent: sent };
}

// http on a loopback IP literal, with an optional port: RFC 8252 §7.3's native-app redirect.
const LOOPBACK_REDIRECT = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?][^#]*)?$/;

/** A loopback redirect URI without its port, or undefined for any other URI. */
function withoutPort(uri: string): string | undefined {
  const match = LOOPBACK_REDIRECT.exec(uri);
  if (!match) return undefined;
  const port = match[2];
  if (port !== undefined && (Number(port) === 0 || Number(port) > 65535)) return undefined;
  return `http://${match[1]}${match[3] ?? ''}`;
}

/**
 * RFC 8252 §7.3: a native app listens on whatever port the system gives it, so a registered
 * loopback IP redirect URI matches the same URI on any port. Only the port may differ, and only
 * on 127.0.0.1 and [::1] (not `localhost`, which a name lookup could send elsewhere, §8.3).
 */
function matchesLoopback(registered: readonly string[], sent: string): boolean {
  const bare = withoutPort(sent);
  return bare !== undefined && registered.some((uri) => withoutPort(uri) === bare);
}

/**
 * The response mode errors are sent with: the requested one when valid, else the
 * default of the response type (fragment for hybrid ones). Never throws, so that
 * an error about response_type itself can still be delivered.
 */
export function errorResponseMode(params: RawParams): ResponseMode {
  const mode = params.response_mode;
  if (typeof mode === 'string' && (RESPONSE_MODES as readonly string[]).includes(mode))
    return mode as ResponseMode;
  const type = params.response_type;
  return typeof type === 'string' && normaliseResponseType(type) !== 'code' && type.trim() !== ''
    ? 'fragment'
    : 'query';
}

/** Step 3: response_type and response_mode; from here on errors go back to the client. */
export function checkResponseType(
  client: Client,
  params: RawParams,
): { responseType: ResponseType; responseMode: ResponseMode } {
  const rawType = param(params, 'response_type');
  const rawMode = param(params, 'response_mode');
  if (rawType === undefined) throw new InvalidRequest('response_type is required');
  const type = normaliseResponseType(rawType);
  if (rawMode !== undefined && !(RESPONSE_MODES as readonly string[]).includes(rawMode)) {
    throw new InvalidRequest(`response_mode "${rawMode}" is not supported`);
  }
  if (IMPLICIT.has(type)) {
    throw new UnsupportedResponseType(
      'the implicit grant is not supported: use response_type=code with PKCE',
    );
  }
  if (!(RESPONSE_TYPES as readonly string[]).includes(type)) {
    throw new UnsupportedResponseType(`response_type "${rawType}" is not supported`);
  }
  if (!client.responseTypes.includes(type)) {
    throw new UnauthorizedClient(`this client is not allowed response_type "${type}"`);
  }
  if (type !== 'code' && rawMode === 'query') {
    // OAuth 2.0 Multiple Response Types §5: tokens must never travel in a query string.
    throw new InvalidRequest('response_mode=query cannot carry the tokens of a hybrid response');
  }
  const responseMode =
    (rawMode as ResponseMode | undefined) ?? (type === 'code' ? 'query' : 'fragment');
  return { responseType: type as ResponseType, responseMode };
}

/** The remaining parameters, each checked as its RFC says. */
export function checkParameters(
  ctx: AppContext,
  client: Client,
  params: RawParams,
  responseType: ResponseType,
  /** The scopes the client may ask for: its own and those of the APIs it may use. */
  allowedScopes: readonly string[],
): Omit<
  AuthorizationRequest,
  keyof ResponseTarget | 'client' | 'redirectUriAsSent' | 'responseType' | 'raw' | 'pushed' | 'apis'
> {
  if (param(params, 'request') !== undefined)
    throw new RequestNotSupported('request objects are not supported');
  if (param(params, 'request_uri') !== undefined)
    throw new RequestUriNotSupported('request_uri is not supported');

  const scopes = parseScope(param(params, 'scope'));
  checkAllowed(scopes, allowedScopes);
  if (responseType !== 'code' && !scopes.includes('openid')) {
    throw new InvalidRequest('a hybrid response_type needs the openid scope');
  }

  const includeGrantedScopes = readIncludeGrantedScopes(param(params, 'include_granted_scopes'));

  const challenge = param(params, 'code_challenge');
  const method = param(params, 'code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined)
      throw new InvalidRequest('code_challenge_method was sent without code_challenge');
    if (client.type === 'public')
      throw new InvalidRequest('code_challenge is required: public clients must use PKCE');
    if (ctx.config.requirePkce || client.requirePkce)
      throw new InvalidRequest('code_challenge is required (PKCE)');
  } else {
    if (method !== 'S256') {
      throw new InvalidRequest(
        method === undefined || method === 'plain'
          ? 'code_challenge_method must be S256: plain is not supported'
          : `code_challenge_method "${method}" is not supported: use S256`,
      );
    }
    if (!isValidChallenge(challenge)) {
      throw new InvalidRequest(
        'code_challenge must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]',
      );
    }
  }

  const nonce = param(params, 'nonce');
  if (responseType.includes('id_token') && nonce === undefined) {
    throw new InvalidRequest(
      'nonce is required when the authorization response carries an ID token',
    );
  }

  // RFC 9449 §10: a JWK SHA-256 thumbprint. Kept, and checked at the token endpoint, even when
  // DPoP is off there, so that the code cannot be used without the key the client named.
  const dpopJkt = param(params, 'dpop_jkt');
  if (dpopJkt !== undefined && !isThumbprint(dpopJkt)) {
    throw new InvalidRequest(
      'dpop_jkt must be the base64url SHA-256 JWK thumbprint of a DPoP key (43 characters)',
    );
  }

  const signIn = checkSignInParameters(client, params);

  return {
    scopes,
    includeGrantedScopes,
    nonce,
    codeChallenge: challenge,
    dpopJkt,
    ...signIn,
    loginHint: param(params, 'login_hint'),
    idTokenHint: param(params, 'id_token_hint'),
  };
}

/**
 * include_granted_scopes, as Google defines it: `true` or `false` (the default). Anything else is
 * refused rather than read as false, so that a client misspelling it learns so instead of getting
 * narrower tokens than it expects.
 */
function readIncludeGrantedScopes(value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InvalidRequest('include_granted_scopes must be "true" or "false"');
}

/** The authorization parameters as single strings, for resuming the request; nothing else is kept. */
export function rawParams(params: RawParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string' && AUTHORIZE_PARAMETERS.has(key)) out[key] = value;
  }
  // Repeated resources (RFC 8707 §2) travel as one value, space-separated: no URI holds a space.
  const resources = params.resource;
  if (Array.isArray(resources) && resources.every((r) => typeof r === 'string')) {
    out.resource = resources.join(' ');
  }
  return out;
}
