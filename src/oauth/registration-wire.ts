import type { Registration } from '../domain/registration.js';
import type { RegistrationRequest } from '../domain/registration-policy.js';
import { InvalidClientMetadata } from './errors.js';

/**
 * RFC 7591 client metadata on the wire: what a registration request may carry, and the
 * registration response. Members Tessera does not know, and those only an admin may set
 * (`first_party`, `resource_server`, `require_pkce`, `access_token_format`, the JWT bearer and
 * token exchange policies, `backchannel_logout_uri`, `client_type`), are ignored as RFC 7591 §2
 * says; the response shows what was registered, so a client sees they had no effect.
 */

/** The longest string member taken, other than a scope list: a URI's limit. */
const MAX_STRING = 2048;
/** A scope list: up to 100 scopes of up to 128 characters, roughly. */
const MAX_SCOPE = 4000;
/** Lists of URIs, grant types, response types, contacts. */
const MAX_LIST = 20;

type Body = Record<string, unknown>;

function string(body: Body, field: string, max = MAX_STRING): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidClientMetadata(`${field} must be a string`);
  if (value.length > max)
    throw new InvalidClientMetadata(`${field} must be at most ${max} characters`);
  return value;
}

function strings(body: Body, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new InvalidClientMetadata(`${field} must be a list of strings`);
  if (value.length > MAX_LIST)
    throw new InvalidClientMetadata(`${field} may hold at most ${MAX_LIST} values`);
  if (value.some((v: string) => v.length > MAX_STRING))
    throw new InvalidClientMetadata(`${field}: a value is longer than ${MAX_STRING} characters`);
  return value as string[];
}

function boolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new InvalidClientMetadata(`${field} must be true or false`);
  return value;
}

/** The JSON body of a registration or RFC 7592 update, as the policy's request. */
export function registrationRequest(body: unknown): RegistrationRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidClientMetadata('the body must be a JSON object of client metadata');
  const b = body as Body;
  const request: RegistrationRequest = {};
  const set = <K extends keyof RegistrationRequest>(key: K, value: RegistrationRequest[K]) => {
    if (value !== undefined) request[key] = value;
  };
  set('name', string(b, 'client_name', 200));
  set('redirectUris', strings(b, 'redirect_uris'));
  set('postLogoutRedirectUris', strings(b, 'post_logout_redirect_uris'));
  set('grantTypes', strings(b, 'grant_types'));
  set('responseTypes', strings(b, 'response_types'));
  const scope = string(b, 'scope', MAX_SCOPE);
  if (scope !== undefined) request.scopes = scope.split(' ').filter(Boolean);
  set('tokenEndpointAuthMethod', string(b, 'token_endpoint_auth_method', 50));
  set('applicationType', string(b, 'application_type', 20));
  // Tessera keeps one contact address per client: the first of `contacts`.
  set('contactEmail', strings(b, 'contacts')?.[0]);
  set('idTokenSignedResponseAlg', string(b, 'id_token_signed_response_alg', 10));
  set('userinfoSignedResponseAlg', string(b, 'userinfo_signed_response_alg', 10));
  set('tokenEndpointAuthSigningAlg', string(b, 'token_endpoint_auth_signing_alg', 10));
  set('jwksUri', string(b, 'jwks_uri'));
  if (b.jwks !== undefined && b.jwks !== null) request.jwks = b.jwks;
  const maxAge = b.default_max_age;
  if (maxAge !== undefined && maxAge !== null) {
    if (typeof maxAge !== 'number')
      throw new InvalidClientMetadata('default_max_age must be a number of seconds');
    request.defaultMaxAge = maxAge;
  }
  set('requireAuthTime', boolean(b, 'require_auth_time'));
  set('dpopBoundAccessTokens', boolean(b, 'dpop_bound_access_tokens'));
  set('requirePushedAuthorizationRequests', boolean(b, 'require_pushed_authorization_requests'));
  return request;
}

/**
 * The client's registration in RFC 7591 §3.2.1 form: every registered value as stored (values
 * that are unset are left out rather than sent as null), the registration access token when it
 * is new, and the secret when one was made.
 */
export function registrationResponse(issuer: string, made: Registration): Record<string, unknown> {
  const { client } = made;
  const out: Record<string, unknown> = {
    client_id: client.id,
    client_id_issued_at: client.createdAt,
  };
  if (made.secret !== undefined) {
    out.client_secret = made.secret;
    // RFC 7591 §3.2.1: 0, the secret does not expire.
    out.client_secret_expires_at = 0;
  }
  if (made.accessToken !== undefined) out.registration_access_token = made.accessToken;
  out.registration_client_uri = `${issuer}/register/${encodeURIComponent(client.id)}`;
  Object.assign(out, {
    client_name: client.name,
    application_type: made.applicationType,
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: client.responseTypes,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    scope: client.scopes.join(' '),
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    require_auth_time: client.requireAuthTime,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
  });
  if (client.postLogoutRedirectUris.length > 0)
    out.post_logout_redirect_uris = client.postLogoutRedirectUris;
  if (client.contactEmail !== null) out.contacts = [client.contactEmail];
  if (client.userinfoSignedResponseAlg !== null)
    out.userinfo_signed_response_alg = client.userinfoSignedResponseAlg;
  if (client.tokenEndpointAuthSigningAlg !== null)
    out.token_endpoint_auth_signing_alg = client.tokenEndpointAuthSigningAlg;
  if (client.defaultMaxAge !== null) out.default_max_age = client.defaultMaxAge;
  if (client.jwks !== null) out.jwks = client.jwks;
  if (client.jwksUri !== null) out.jwks_uri = client.jwksUri;
  return out;
}
