import type { Config } from '../config.js';
import type { ApplicationType } from '../store/types.js';
import { type ClientInput, checkRedirectUri, MAX_URIS } from './client-rules.js';
import { ValidationError } from './errors.js';
import { isScopeToken } from './scopes.js';

/**
 * What a client that registers itself (RFC 7591) may get: the policy of TESSERA_REGISTRATION_*.
 * A grant type, response type, auth method or redirect URI outside it is refused, naming the
 * field. Scopes outside it are dropped instead (RFC 7591 §2 lets the server replace `scope`):
 * MCP clients ask at registration for the scopes of the API they are about to call, which are
 * not the client's to hold but come with the API (domain/apis.ts, an API open to
 * self-registered clients); the response says which scopes the client got.
 */

/** How a self-registered client may prove itself: none of them needs a secret kept in two places. */
export const REGISTRATION_AUTH_METHODS = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;

/** Front-channel tokens are not for clients nobody has vetted: the code flow only. */
const REGISTRATION_RESPONSE_TYPES = ['code'];

export interface RegistrationPolicy {
  scopes: readonly string[];
  grantTypes: readonly string[];
}

/** The metadata a self-registering client may send, camelCase; the rest is admin-only. */
export type RegistrationRequest = Pick<
  ClientInput,
  | 'name'
  | 'contactEmail'
  | 'redirectUris'
  | 'postLogoutRedirectUris'
  | 'grantTypes'
  | 'responseTypes'
  | 'scopes'
  | 'tokenEndpointAuthMethod'
  | 'idTokenSignedResponseAlg'
  | 'userinfoSignedResponseAlg'
  | 'defaultMaxAge'
  | 'requireAuthTime'
  | 'jwks'
  | 'jwksUri'
  | 'tokenEndpointAuthSigningAlg'
  | 'dpopBoundAccessTokens'
  | 'requirePushedAuthorizationRequests'
> & { applicationType?: string };

export function registrationPolicy(
  config: Pick<Config, 'registrationScopes' | 'registrationGrantTypes'>,
): RegistrationPolicy {
  const words = (value: string) => [...new Set(value.split(' ').filter(Boolean))];
  return {
    scopes: words(config.registrationScopes),
    grantTypes: words(config.registrationGrantTypes),
  };
}

function checkApplicationType(value: unknown): ApplicationType {
  if (value === undefined || value === 'web') return 'web';
  if (value === 'native') return 'native';
  throw new ValidationError('application_type', 'application_type must be "web" or "native"');
}

function checkWithin(field: string, values: readonly string[], allowed: readonly string[]): void {
  for (const value of values) {
    if (!allowed.includes(value)) {
      throw new ValidationError(
        field,
        `${field}: "${String(value)}" is not allowed for a self-registered client (allowed: ${allowed.join(', ') || 'none'})`,
      );
    }
  }
}

/**
 * Redirect URIs of a self-registered client: what any client may have (https, http on loopback,
 * no fragment, no dangerous scheme), and a private-use scheme (`com.example.app:/cb`) only for a
 * native app, since no one can tell which app on a device claims it.
 */
function checkRegisteredUris(field: string, uris: unknown, type: ApplicationType): string[] {
  if (!Array.isArray(uris)) throw new ValidationError(field, `${field} must be a list of URIs`);
  if (uris.length > MAX_URIS)
    throw new ValidationError(field, `${field} may hold at most ${MAX_URIS} URIs`);
  return uris.map((value) => {
    const uri = checkRedirectUri(field, value);
    const scheme = new URL(uri).protocol;
    if (scheme !== 'https:' && scheme !== 'http:' && type !== 'native') {
      throw new ValidationError(
        field,
        `${field}: "${uri}" uses a private-use scheme, which only an application_type "native" client may register`,
      );
    }
    return uri;
  });
}

/**
 * The client a registration request asks for, within the policy: RFC 7591 §2's defaults for
 * what it leaves out, and what only an admin may decide set the safe way (never first party,
 * never a resource server, PKCE always). Used whole for a registration and for an RFC 7592
 * update, which replaces every value. Throws ValidationError naming the wire field.
 */
export function applyRegistrationPolicy(
  request: RegistrationRequest,
  policy: RegistrationPolicy,
): { input: ClientInput; applicationType: ApplicationType } {
  const applicationType = checkApplicationType(request.applicationType);
  const redirectUris = checkRegisteredUris(
    'redirect_uris',
    request.redirectUris ?? [],
    applicationType,
  );
  const postLogoutRedirectUris = checkRegisteredUris(
    'post_logout_redirect_uris',
    request.postLogoutRedirectUris ?? [],
    applicationType,
  );
  // RFC 7591 §2: grant_types defaults to authorization_code, response_types to code.
  const grantTypes = request.grantTypes ?? ['authorization_code'];
  checkWithin('grant_types', grantTypes, policy.grantTypes);
  const responseTypes = request.responseTypes ?? ['code'];
  checkWithin('response_types', responseTypes, REGISTRATION_RESPONSE_TYPES);
  for (const scope of request.scopes ?? []) {
    if (!isScopeToken(scope)) throw new ValidationError('scope', `"${scope}" is not a valid scope`);
  }
  const scopes =
    request.scopes === undefined
      ? [...policy.scopes]
      : request.scopes.filter((scope) => policy.scopes.includes(scope));
  // RFC 7591 §2: token_endpoint_auth_method defaults to client_secret_basic.
  const method = request.tokenEndpointAuthMethod ?? 'client_secret_basic';
  checkWithin('token_endpoint_auth_method', [method], REGISTRATION_AUTH_METHODS);
  const input: ClientInput = {
    name: request.name ?? defaultName(redirectUris),
    contactEmail: request.contactEmail ?? null,
    redirectUris,
    postLogoutRedirectUris,
    grantTypes,
    responseTypes,
    scopes,
    tokenEndpointAuthMethod: method,
    idTokenSignedResponseAlg: request.idTokenSignedResponseAlg ?? 'RS256',
    userinfoSignedResponseAlg: request.userinfoSignedResponseAlg ?? null,
    defaultMaxAge: request.defaultMaxAge ?? null,
    requireAuthTime: request.requireAuthTime ?? false,
    jwks: request.jwks ?? null,
    jwksUri: request.jwksUri ?? null,
    tokenEndpointAuthSigningAlg: request.tokenEndpointAuthSigningAlg ?? null,
    dpopBoundAccessTokens: request.dpopBoundAccessTokens ?? false,
    requirePushedAuthorizationRequests: request.requirePushedAuthorizationRequests ?? false,
    // Only an admin decides these: a client that names itself must always ask the person.
    firstParty: false,
    resourceServer: false,
    requirePkce: true,
  };
  return { input, applicationType };
}

/** RFC 7591 makes client_name optional; the consent page needs something to call the app. */
function defaultName(redirectUris: readonly string[]): string {
  const first = redirectUris[0];
  if (first === undefined) return 'Unnamed app';
  const url = new URL(first);
  return url.host === ''
    ? `Unnamed app (${url.protocol.slice(0, -1)})`
    : `Unnamed app (${url.host})`;
}
