import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { isJwsAlg, JWS_ALGS } from '../lib/jws.js';
import { randomId, randomToken } from '../lib/random.js';
import type {
  AccessTokenFormat,
  Client,
  ClientPatch,
  ClientType,
  TokenEndpointAuthMethod,
} from '../store/types.js';
import { NotFoundError, ValidationError } from './errors.js';

/** The grant types a client may be allowed; a new grant is added here and in oauth/grants/. */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const RESPONSE_TYPES = [
  'code',
  'code id_token',
  'code token',
  'code id_token token',
] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'phone', 'address', 'offline_access'];

const MAX_URIS = 20;
const MAX_URI_LENGTH = 2048;
const MAX_SCOPES = 100;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
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
}

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
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `${field}: "${value}" is not an absolute URI`);
  }
  if (value.includes('#'))
    throw new ValidationError(field, `${field}: "${value}" must not have a fragment`);
  if (FORBIDDEN_SCHEMES.has(url.protocol))
    throw new ValidationError(field, `${field}: the ${url.protocol} scheme is not allowed`);
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

export function checkScopes(values: unknown): string[] {
  if (!Array.isArray(values))
    throw new ValidationError('scope', 'scope must be a space-separated list');
  if (values.length > MAX_SCOPES)
    throw new ValidationError('scope', `at most ${MAX_SCOPES} scopes`);
  for (const value of values) {
    if (typeof value !== 'string' || !SCOPE_TOKEN.test(value)) {
      throw new ValidationError(
        'scope',
        `"${String(value)}" is not a valid scope (RFC 6749 §3.3: no spaces, quotes or backslashes)`,
      );
    }
  }
  return [...new Set(values as string[])];
}

function checkName(value: unknown): string {
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

/** The client as it would be after `input` is applied to `base`, checked as a whole. */
function resolve(
  base: Omit<Client, 'id' | 'secretHash' | 'createdAt' | 'updatedAt'>,
  input: ClientInput,
) {
  const next = { ...base };
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
  if (input.tokenEndpointAuthMethod !== undefined) {
    next.tokenEndpointAuthMethod = checkList(
      'token_endpoint_auth_method',
      [input.tokenEndpointAuthMethod],
      AUTH_METHODS,
    )[0] as TokenEndpointAuthMethod;
  }
  if (input.type !== undefined) {
    if (input.type !== 'public' && input.type !== 'confidential') {
      throw new ValidationError('client_type', 'client_type must be public or confidential');
    }
    next.type = input.type;
    // The type decides the method unless one was given with it.
    if (input.tokenEndpointAuthMethod === undefined) {
      if (input.type === 'public') next.tokenEndpointAuthMethod = 'none';
      else if (next.tokenEndpointAuthMethod === 'none')
        next.tokenEndpointAuthMethod = 'client_secret_basic';
    }
  } else if (input.tokenEndpointAuthMethod !== undefined) {
    next.type = next.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential';
  }
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
    next.accessTokenFormat = checkList('access_token_format', [input.accessTokenFormat], [
      'jwt',
      'opaque',
    ] as const)[0] as AccessTokenFormat;
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
      input.backchannelLogoutUri === null ? null : checkBackchannelUri(input.backchannelLogoutUri);
  }
  if (input.defaultMaxAge !== undefined) {
    const v = input.defaultMaxAge;
    if (v !== null && (!Number.isInteger(v) || v < 0 || v > 10 * 365 * 86400)) {
      throw new ValidationError(
        'default_max_age',
        'default_max_age must be a whole number of seconds',
      );
    }
    next.defaultMaxAge = v;
  }
  if (input.requireAuthTime !== undefined) next.requireAuthTime = Boolean(input.requireAuthTime);
  if (input.firstParty !== undefined) next.firstParty = Boolean(input.firstParty);
  if (input.requirePkce !== undefined) next.requirePkce = Boolean(input.requirePkce);

  // Rules across fields.
  if (next.type === 'public' && next.grantTypes.includes('client_credentials')) {
    throw new ValidationError(
      'grant_types',
      'a public client cannot use client_credentials: it has no secret',
    );
  }
  if (next.grantTypes.includes('authorization_code') && next.redirectUris.length === 0) {
    throw new ValidationError(
      'redirect_uris',
      'redirect_uris is required for the authorization_code grant',
    );
  }
  if (next.grantTypes.length === 0)
    throw new ValidationError('grant_types', 'grant_types must not be empty');
  return next;
}

function checkBackchannelUri(value: unknown): string {
  const uri = checkRedirectUri('backchannel_logout_uri', value);
  const url = new URL(uri);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ValidationError(
      'backchannel_logout_uri',
      'backchannel_logout_uri must be https (or http on loopback)',
    );
  }
  return uri;
}

const DEFAULTS: Omit<Client, 'id' | 'secretHash' | 'createdAt' | 'updatedAt' | 'name'> = {
  contactEmail: null,
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
};

export interface ClientWithSecret {
  client: Client;
  /** The plain secret: shown once, never stored. Undefined for public clients. */
  secret: string | undefined;
}

async function audit(
  ctx: AppContext,
  type: string,
  clientId: string,
  details: Record<string, unknown> | null = null,
) {
  await ctx.store.audit.record({
    type,
    userId: null,
    clientId,
    ip: null,
    details,
    createdAt: nowSeconds(ctx),
  });
}

/** Registers a client; a confidential one gets a 256-bit secret, stored only as its SHA-256. */
export async function createClient(ctx: AppContext, input: ClientInput): Promise<ClientWithSecret> {
  const resolved = resolve({ ...DEFAULTS, name: checkName(input.name) }, input);
  const secret = resolved.type === 'confidential' ? randomToken(32) : undefined;
  const client = await ctx.store.clients.create({
    ...resolved,
    id: randomId(),
    secretHash: secret ? sha256(secret) : null,
    createdAt: nowSeconds(ctx),
  });
  await audit(ctx, 'client.created', client.id, { name: client.name });
  return { client, secret };
}

/**
 * Changes a client. A client made public loses its secret; one made
 * confidential gets a new secret, returned once.
 */
export async function updateClient(
  ctx: AppContext,
  id: string,
  input: ClientInput,
): Promise<ClientWithSecret> {
  const existing = await ctx.store.clients.findById(id);
  if (!existing) throw new NotFoundError('client');
  const resolved = resolve(existing, input);
  const patch: ClientPatch = { ...resolved };
  let secret: string | undefined;
  if (resolved.type === 'public') patch.secretHash = null;
  else if (existing.secretHash === null) {
    secret = randomToken(32);
    patch.secretHash = sha256(secret);
  }
  const client = await ctx.store.clients.update(id, patch, nowSeconds(ctx));
  if (!client) throw new NotFoundError('client');
  ctx.clients.invalidate(id);
  await audit(ctx, 'client.updated', id);
  return { client, secret };
}

/** Replaces a confidential client's secret; the old one stops working at once. */
export async function rotateClientSecret(ctx: AppContext, id: string): Promise<ClientWithSecret> {
  const existing = await ctx.store.clients.findById(id);
  if (!existing) throw new NotFoundError('client');
  if (existing.type === 'public')
    throw new ValidationError('client_type', 'a public client has no secret to rotate');
  const secret = randomToken(32);
  const client = await ctx.store.clients.update(
    id,
    { secretHash: sha256(secret) },
    nowSeconds(ctx),
  );
  ctx.clients.invalidate(id);
  await audit(ctx, 'client.secret_rotated', id);
  return { client: client!, secret };
}

/** Deletes a client with every grant, code and token of its. */
export async function deleteClient(ctx: AppContext, id: string): Promise<void> {
  if (!(await ctx.store.clients.delete(id))) throw new NotFoundError('client');
  ctx.clients.invalidate(id);
  await audit(ctx, 'client.deleted', id);
}
