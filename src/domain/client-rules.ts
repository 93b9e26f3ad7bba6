import { isInternalHost } from '../lib/addresses.js';
import { isJwsAlg, JWS_ALGS } from '../lib/jws.js';
import type { AccessTokenFormat, Client, ClientType } from '../store/types.js';
import { ASSERTION_ALGS, ASYMMETRIC_ALGS, checkJwks, HMAC_ALGS } from './client-jwks.js';
import { ValidationError } from './errors.js';
import { isResourceUri } from './resource-uri.js';
import { isScopeToken, MAX_SCOPE_LENGTH } from './scopes.js';

/**
 * The rules a client's registration must follow. Field names in errors are the
 * wire names (RFC 7591), since every caller reports them to a person or a script.
 */

/** RFC 8628 §3.4: the device authorization grant. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 7523 §2.1: the JWT bearer grant, for service accounts that sign their own assertions. */
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The grant types a client may be allowed; a new grant is added here and in oauth/grants/. */
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  JWT_BEARER,
  TOKEN_EXCHANGE,
  DEVICE_CODE_GRANT,
] as const;
/** RFC 8693 §3: the subject token types a token exchange can take. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const EXCHANGE_SUBJECT_TOKEN_TYPES = [ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE] as const;
/** The most audiences or trusted issuers a client's exchange policy may list. */
const MAX_EXCHANGE_ENTRIES = 20;
export const RESPONSE_TYPES = [
  'code',
  'code id_token',
  'code token',
  'code id_token token',
] as const;
export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
] as const;
/** The methods that prove the client with a secret it was given; it keeps a secret for them. */
export const SECRET_METHODS: readonly string[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
];
/** The most people a service account may be allowed to act for with the JWT bearer grant. */
export const MAX_JWT_BEARER_SUBJECTS = 100;
export const ACCESS_TOKEN_FORMATS = ['jwt', 'opaque'] as const;
export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'phone', 'address', 'offline_access'];

export const MAX_URIS = 20;
export const MAX_URI_LENGTH = 2048;
/** The longest `default_max_age` a client may have: ten years, in seconds. */
export const MAX_DEFAULT_MAX_AGE = 10 * 365 * 86400;
const MAX_SCOPES = 100;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'file:',
  'vbscript:',
  'blob:',
  'about:',
]);

/** Everything a client can be registered or updated with, camelCase; each field optional on update. */
export interface ClientInput {
  name?: string;
  contactEmail?: string | null;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  type?: ClientType;
  grantTypes?: string[];
  responseTypes?: string[];
  scopes?: string[];
  tokenEndpointAuthMethod?: string;
  accessTokenFormat?: string;
  idTokenSignedResponseAlg?: string;
  userinfoSignedResponseAlg?: string | null;
  backchannelLogoutUri?: string | null;
  defaultMaxAge?: number | null;
  requireAuthTime?: boolean;
  firstParty?: boolean;
  requirePkce?: boolean;
  resourceServer?: boolean;
  /** A JWK Set (object or JSON text), or null to remove it. */
  jwks?: unknown;
  jwksUri?: string | null;
  tokenEndpointAuthSigningAlg?: string | null;
  jwtBearerSubjects?: string[];
  tokenExchangeAudiences?: string[];
  tokenExchangeSubjectTokenTypes?: string[];
  tokenExchangeTrustedIssuers?: string[];
  dpopBoundAccessTokens?: boolean;
  requirePushedAuthorizationRequests?: boolean;
  /** The identifiers of the APIs the client may get tokens for (RFC 8707 `resource`). */
  allowedResources?: string[];
}

/** What the rules depend on besides the input. */
export interface ClientRules {
  /** In production, URIs Tessera's server calls must not point into its own network. */
  production: boolean;
}

/** A client's settings: the record without its identity, secret and timestamps. */
export type ClientMetadata = Omit<
  Client,
  'id' | 'secretHash' | 'secretSealed' | 'createdAt' | 'updatedAt'
>;

/** What a client gets for each setting it was not registered with. */
export const CLIENT_DEFAULTS: Omit<ClientMetadata, 'name'> = {
  contactEmail: null,
  allowedResources: [],
  type: 'confidential',
  redirectUris: [],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code', 'refresh_token'],
  responseTypes: ['code'],
  scopes: DEFAULT_SCOPES,
  tokenEndpointAuthMethod: 'client_secret_basic',
  accessTokenFormat: 'jwt',
  idTokenSignedResponseAlg: 'RS256',
  userinfoSignedResponseAlg: null,
  backchannelLogoutUri: null,
  defaultMaxAge: null,
  requireAuthTime: false,
  firstParty: false,
  requirePkce: false,
  resourceServer: false,
  jwks: null,
  jwksUri: null,
  tokenEndpointAuthSigningAlg: null,
  jwtBearerSubjects: [],
  tokenExchangeAudiences: [],
  tokenExchangeSubjectTokenTypes: [ACCESS_TOKEN_TYPE],
  tokenExchangeTrustedIssuers: [],
  dpopBoundAccessTokens: false,
  requirePushedAuthorizationRequests: false,
  registration: 'admin',
};

/**
 * A redirect URI Tessera will send codes to: absolute, no fragment, and https
 * except on loopback (RFC 8252 §7.3) or a private-use scheme such as
 * `com.example.app:/callback` (RFC 8252 §7.1).
 */
export function checkRedirectUri(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new ValidationError(field, `${field} must be non-empty strings`);
  if (value.length > MAX_URI_LENGTH)
    throw new ValidationError(field, `${field}: a URI is longer than ${MAX_URI_LENGTH} characters`);
  // The URL parser trims and drops whitespace, but redirect URIs are compared as
  // exact strings, so what is stored must be what a client will send.
  if (/\s/.test(value) || hasControlCharacter(value))
    throw new ValidationError(
      field,
      `${field}: a URI must not contain spaces or control characters`,
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `${field}: "${value}" is not an absolute URI`);
  }
  if (value.includes('#'))
    throw new ValidationError(field, `${field}: "${value}" must not have a fragment`);
  // Credentials in a URI end up in logs and Referer headers, and a wildcard is no exact match.
  if (url.username !== '' || url.password !== '')
    throw new ValidationError(
      field,
      `${field}: "${value}" must not contain a user name or password`,
    );
  if (value.includes('*'))
    throw new ValidationError(
      field,
      `${field}: "${value}" must not contain "*": URIs match exactly`,
    );
  if (FORBIDDEN_SCHEMES.has(url.protocol))
    throw new ValidationError(field, `${field}: the ${url.protocol} scheme is not allowed`);
  const web = url.protocol === 'https:' || url.protocol === 'http:';
  // `https:host/path` parses, but is not the absolute form a client will send back.
  if (web && !/^https?:\/\/[^/]/i.test(value))
    throw new ValidationError(field, `${field}: "${value}" is not an absolute URI`);
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:') {
    if (LOOPBACK.has(url.hostname)) return value;
    throw new ValidationError(
      field,
      `${field}: "${value}" must use https (http is allowed only on loopback)`,
    );
  }
  // Private-use schemes are reverse domain names, so they contain a dot (RFC 8252 §7.1).
  if (url.protocol.slice(0, -1).includes('.')) return value;
  throw new ValidationError(
    field,
    `${field}: "${value}" must use https, loopback http, or a private-use scheme like com.example.app:`,
  );
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * A URI Tessera's own server calls (the back-channel logout URI): https, or http on loopback
 * outside production. In production it must not name an internal address (SSRF);
 * names that resolve to one are refused when the call is made.
 */
export function checkServerCalledUri(field: string, value: unknown, rules: ClientRules): string {
  const uri = checkRedirectUri(field, value);
  const url = new URL(uri);
  if (rules.production) {
    if (url.protocol !== 'https:') throw new ValidationError(field, `${field} must be https`);
    if (isInternalHost(url.hostname)) {
      throw new ValidationError(
        field,
        `${field} must not point at a loopback, private or link-local address`,
      );
    }
    return uri;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ValidationError(field, `${field} must be https (or http on loopback)`);
  }
  return uri;
}

/** Scope tokens a client may be allowed (RFC 6749 §3.3 syntax), without duplicates. */
export function checkScopes(values: unknown): string[] {
  if (!Array.isArray(values))
    throw new ValidationError('scope', 'scope must be a space-separated list');
  if (values.length > MAX_SCOPES)
    throw new ValidationError('scope', `at most ${MAX_SCOPES} scopes`);
  for (const value of values) {
    if (!isScopeToken(value)) {
      throw new ValidationError(
        'scope',
        `"${String(value)}" is not a valid scope (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes, at most ${MAX_SCOPE_LENGTH} characters)`,
      );
    }
  }
  return [...new Set(values as string[])];
}

function checkUris(field: string, values: unknown): string[] {
  if (!Array.isArray(values)) throw new ValidationError(field, `${field} must be a list of URIs`);
  if (values.length > MAX_URIS)
    throw new ValidationError(field, `${field} may hold at most ${MAX_URIS} URIs`);
  return [...new Set(values.map((v) => checkRedirectUri(field, v)))];
}

function checkList<T extends string>(field: string, values: unknown, allowed: readonly T[]): T[] {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
    throw new ValidationError(field, `${field} must be a list of strings`);
  }
  for (const value of values) {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ValidationError(
        field,
        `${field}: "${value}" is not supported (one of: ${allowed.join(', ')})`,
      );
    }
  }
  return [...new Set(values as T[])];
}

function checkOne<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  return checkList(field, [value], allowed)[0] as T;
}

export function checkName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ValidationError('client_name', 'client_name is required');
  const name = value.trim();
  if (name.length > 100)
    throw new ValidationError('client_name', 'client_name must be at most 100 characters');
  return name;
}

function checkEmail(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value !== 'string' || value.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(value)) {
    throw new ValidationError('contact_email', 'contact_email is not a valid e-mail address');
  }
  return value;
}

function checkAlg(field: string, value: unknown): string {
  if (!isJwsAlg(value))
    throw new ValidationError(field, `${field} must be one of ${JWS_ALGS.join(', ')}`);
  return value;
}

/** The client type and auth method after `input`: each follows the other unless both are given. */
function resolveType(base: ClientMetadata, input: ClientInput, next: ClientMetadata): void {
  if (input.tokenEndpointAuthMethod !== undefined) {
    next.tokenEndpointAuthMethod = checkOne(
      'token_endpoint_auth_method',
      input.tokenEndpointAuthMethod,
      AUTH_METHODS,
    );
  }
  if (input.type !== undefined) {
    if (input.type !== 'public' && input.type !== 'confidential') {
      throw new ValidationError('client_type', 'client_type must be public or confidential');
    }
    next.type = input.type;
    if (input.tokenEndpointAuthMethod === undefined && input.type !== base.type) {
      next.tokenEndpointAuthMethod = input.type === 'public' ? 'none' : 'client_secret_basic';
    }
  } else if (input.tokenEndpointAuthMethod !== undefined) {
    next.type = next.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential';
  }
  // `none` means no secret, and a public client is exactly one without a secret.
  if ((next.type === 'public') !== (next.tokenEndpointAuthMethod === 'none')) {
    throw new ValidationError(
      'token_endpoint_auth_method',
      next.type === 'public'
        ? 'a public client authenticates with "none": it has no secret'
        : 'a confidential client needs a method that proves it (client_secret_basic, client_secret_post, client_secret_jwt or private_key_jwt), not "none"',
    );
  }
}

/** The settings as they would be after `input` is applied to `base`, checked as a whole. */
export function resolveClient(
  base: ClientMetadata,
  input: ClientInput,
  rules: ClientRules,
): ClientMetadata {
  const next: ClientMetadata = { ...base };
  if (input.name !== undefined) next.name = checkName(input.name);
  if (input.contactEmail !== undefined) next.contactEmail = checkEmail(input.contactEmail);
  if (input.redirectUris !== undefined)
    next.redirectUris = checkUris('redirect_uris', input.redirectUris);
  if (input.postLogoutRedirectUris !== undefined) {
    next.postLogoutRedirectUris = checkUris(
      'post_logout_redirect_uris',
      input.postLogoutRedirectUris,
    );
  }
  resolveType(base, input, next);
  if (input.grantTypes !== undefined)
    next.grantTypes = checkList('grant_types', input.grantTypes, GRANT_TYPES);
  if (input.responseTypes !== undefined) {
    next.responseTypes = checkList(
      'response_types',
      input.responseTypes.map((t) => t.split(' ').filter(Boolean).join(' ')),
      RESPONSE_TYPES,
    );
  }
  if (input.scopes !== undefined) next.scopes = checkScopes(input.scopes);
  if (input.accessTokenFormat !== undefined) {
    next.accessTokenFormat = checkOne(
      'access_token_format',
      input.accessTokenFormat,
      ACCESS_TOKEN_FORMATS,
    ) as AccessTokenFormat;
  }
  if (input.idTokenSignedResponseAlg !== undefined) {
    next.idTokenSignedResponseAlg = checkAlg(
      'id_token_signed_response_alg',
      input.idTokenSignedResponseAlg,
    );
  }
  if (input.userinfoSignedResponseAlg !== undefined) {
    next.userinfoSignedResponseAlg =
      input.userinfoSignedResponseAlg === null
        ? null
        : checkAlg('userinfo_signed_response_alg', input.userinfoSignedResponseAlg);
  }
  if (input.backchannelLogoutUri !== undefined) {
    next.backchannelLogoutUri =
      input.backchannelLogoutUri === null
        ? null
        : checkServerCalledUri('backchannel_logout_uri', input.backchannelLogoutUri, rules);
  }
  if (input.defaultMaxAge !== undefined) {
    const v = input.defaultMaxAge;
    if (v !== null && (!Number.isInteger(v) || v < 0 || v > MAX_DEFAULT_MAX_AGE)) {
      throw new ValidationError(
        'default_max_age',
        'default_max_age must be a whole number of seconds (at most ten years)',
      );
    }
    next.defaultMaxAge = v;
  }
  if (input.requireAuthTime !== undefined) next.requireAuthTime = Boolean(input.requireAuthTime);
  if (input.firstParty !== undefined) next.firstParty = Boolean(input.firstParty);
  if (input.requirePkce !== undefined) next.requirePkce = Boolean(input.requirePkce);
  if (input.resourceServer !== undefined) next.resourceServer = Boolean(input.resourceServer);
  resolveKeys(input, next, rules);
  if (input.tokenExchangeAudiences !== undefined) {
    next.tokenExchangeAudiences = checkIdentifiers(
      'token_exchange_audiences',
      input.tokenExchangeAudiences,
    );
  }
  if (input.tokenExchangeSubjectTokenTypes !== undefined) {
    next.tokenExchangeSubjectTokenTypes = checkList(
      'token_exchange_subject_token_types',
      input.tokenExchangeSubjectTokenTypes,
      EXCHANGE_SUBJECT_TOKEN_TYPES,
    );
  }
  if (input.tokenExchangeTrustedIssuers !== undefined) {
    next.tokenExchangeTrustedIssuers = checkIdentifiers(
      'token_exchange_trusted_issuers',
      input.tokenExchangeTrustedIssuers,
    );
  }
  if (input.dpopBoundAccessTokens !== undefined)
    next.dpopBoundAccessTokens = Boolean(input.dpopBoundAccessTokens);
  if (input.requirePushedAuthorizationRequests !== undefined) {
    next.requirePushedAuthorizationRequests = Boolean(input.requirePushedAuthorizationRequests);
  }
  if (input.allowedResources !== undefined) {
    next.allowedResources = checkResources(input.allowedResources);
  }
  checkAcrossFields(next);
  return next;
}

/** API identifiers: absolute URIs without a fragment (RFC 8707 §2), at most 50. */
function checkResources(values: unknown): string[] {
  const field = 'allowed_resources';
  if (!Array.isArray(values)) throw new ValidationError(field, `${field} must be a list of URIs`);
  if (values.length > 50) throw new ValidationError(field, `${field} may hold at most 50 entries`);
  for (const value of values) {
    if (typeof value !== 'string' || !isResourceUri(value)) {
      throw new ValidationError(
        field,
        `${field}: "${String(value)}" must be an absolute URI without a fragment (an API identifier)`,
      );
    }
  }
  return [...new Set(values as string[])];
}

/** The client's keys, its assertion alg and the people it may act for, after `input`. */
function resolveKeys(input: ClientInput, next: ClientMetadata, rules: ClientRules): void {
  if (input.jwks !== undefined) next.jwks = input.jwks === null ? null : checkJwks(input.jwks);
  if (input.jwksUri !== undefined) {
    next.jwksUri =
      input.jwksUri === null ? null : checkServerCalledUri('jwks_uri', input.jwksUri, rules);
  }
  if (input.tokenEndpointAuthSigningAlg !== undefined) {
    const alg = input.tokenEndpointAuthSigningAlg;
    if (alg !== null && !ASSERTION_ALGS.includes(alg)) {
      throw new ValidationError(
        'token_endpoint_auth_signing_alg',
        `token_endpoint_auth_signing_alg must be one of ${ASSERTION_ALGS.join(', ')}`,
      );
    }
    next.tokenEndpointAuthSigningAlg = alg;
  }
  if (input.jwtBearerSubjects !== undefined) {
    const ids = input.jwtBearerSubjects;
    if (
      !Array.isArray(ids) ||
      ids.some((v) => typeof v !== 'string' || v === '' || v.length > 200)
    ) {
      throw new ValidationError(
        'jwt_bearer_subjects',
        'jwt_bearer_subjects must be a list of user ids',
      );
    }
    if (ids.length > MAX_JWT_BEARER_SUBJECTS) {
      throw new ValidationError(
        'jwt_bearer_subjects',
        `jwt_bearer_subjects may hold at most ${MAX_JWT_BEARER_SUBJECTS} user ids`,
      );
    }
    next.jwtBearerSubjects = [...new Set(ids)];
  }
}

/** What the keys, the auth method and the JWT bearer grant need of each other. */
function checkKeys(client: ClientMetadata): void {
  if (client.jwks !== null && client.jwksUri !== null) {
    throw new ValidationError('jwks', 'send jwks or jwks_uri, not both (RFC 7591 §2)');
  }
  const hasKeys = client.jwks !== null || client.jwksUri !== null;
  if (client.tokenEndpointAuthMethod === 'private_key_jwt' && !hasKeys) {
    throw new ValidationError(
      'jwks',
      'private_key_jwt needs the client’s public keys: register jwks or jwks_uri',
    );
  }
  if (client.grantTypes.includes(JWT_BEARER) && !hasKeys) {
    throw new ValidationError(
      'jwks',
      'the JWT bearer grant needs the client’s public keys: register jwks or jwks_uri',
    );
  }
  const alg = client.tokenEndpointAuthSigningAlg;
  if (alg !== null) {
    const method = client.tokenEndpointAuthMethod;
    const fits =
      method === 'client_secret_jwt'
        ? (HMAC_ALGS as readonly string[]).includes(alg)
        : method === 'private_key_jwt' && (ASYMMETRIC_ALGS as readonly string[]).includes(alg);
    if (!fits) {
      throw new ValidationError(
        'token_endpoint_auth_signing_alg',
        method === 'client_secret_jwt'
          ? `client_secret_jwt signs with HS256, HS384 or HS512, not ${alg}`
          : method === 'private_key_jwt'
            ? `private_key_jwt signs with an asymmetric alg (${ASYMMETRIC_ALGS.join(', ')}), not ${alg}`
            : 'token_endpoint_auth_signing_alg applies only to client_secret_jwt and private_key_jwt',
      );
    }
  }
  if (client.jwtBearerSubjects.length > 0 && !client.grantTypes.includes(JWT_BEARER)) {
    throw new ValidationError(
      'jwt_bearer_subjects',
      `jwt_bearer_subjects needs the ${JWT_BEARER} grant type`,
    );
  }
}

/**
 * Audiences and issuers of a token exchange policy: identifiers compared as exact strings (an
 * API's URI or name, an issuer's URL), printable, without spaces.
 */
function checkIdentifiers(field: string, values: unknown): string[] {
  if (!Array.isArray(values))
    throw new ValidationError(field, `${field} must be a list of strings`);
  if (values.length > MAX_EXCHANGE_ENTRIES)
    throw new ValidationError(field, `${field} may hold at most ${MAX_EXCHANGE_ENTRIES} entries`);
  for (const value of values) {
    if (
      typeof value !== 'string' ||
      value === '' ||
      value.length > MAX_URI_LENGTH ||
      /\s/.test(value) ||
      hasControlCharacter(value)
    ) {
      throw new ValidationError(
        field,
        `${field}: "${String(value)}" must be a non-empty string without spaces or control characters, at most ${MAX_URI_LENGTH} characters`,
      );
    }
  }
  return [...new Set(values as string[])];
}

function checkAcrossFields(client: ClientMetadata): void {
  checkKeys(client);
  if (client.grantTypes.length === 0)
    throw new ValidationError('grant_types', 'grant_types must not be empty');
  if (client.type === 'public' && client.grantTypes.includes('client_credentials')) {
    throw new ValidationError(
      'grant_types',
      'a public client cannot use client_credentials: it has no secret',
    );
  }
  if (client.type === 'public' && client.grantTypes.includes(JWT_BEARER)) {
    throw new ValidationError(
      'grant_types',
      'a public client cannot use the JWT bearer grant: a service account is a confidential client',
    );
  }
  if (client.type === 'public' && client.grantTypes.includes(TOKEN_EXCHANGE)) {
    throw new ValidationError(
      'grant_types',
      'a public client cannot use token exchange: it has no secret to prove who is exchanging',
    );
  }
  if (client.resourceServer && client.type === 'public') {
    throw new ValidationError(
      'resource_server',
      'a resource server must be a confidential client: introspection needs client authentication',
    );
  }
  if (client.grantTypes.includes('authorization_code') && client.redirectUris.length === 0) {
    throw new ValidationError(
      'redirect_uris',
      'redirect_uris is required for the authorization_code grant',
    );
  }
}
