import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { randomId, randomToken } from '../lib/random.js';
import type { AccessTokenFormat, Api, ApiPatch, Client } from '../store/types.js';
import { CLIENT_DEFAULTS } from './client-rules.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { isResourceUri } from './resource-uri.js';
import { isScopeToken } from './scopes.js';

/** What an API is created or updated with; each field optional on update. */
export interface ApiInput {
  /** Set once, at creation: tokens already issued carry it as their `aud`. */
  identifier?: string;
  name?: string;
  scopes?: string[];
  accessTokenFormat?: string | null;
  accessTokenTtl?: number | null;
  openToSelfRegistered?: boolean;
}

export interface ApiWithSecret {
  api: Api;
  /** The secret of its introspection client (`api.clientId`): shown once, never stored. */
  secret: string;
}

/** Scopes that release a person's claims: they belong to Tessera (the issuer), never to an API. */
const RESERVED_SCOPES = new Set([
  'openid',
  'profile',
  'email',
  'phone',
  'address',
  'offline_access',
]);
const MAX_TTL = 86_400;

function checkIdentifier(ctx: AppContext, value: unknown): string {
  if (typeof value !== 'string' || !isResourceUri(value)) {
    throw new ValidationError(
      'identifier',
      'identifier must be an absolute URI without a fragment (RFC 8707 §2), e.g. https://api.example.com',
    );
  }
  if (value === ctx.config.issuer) {
    throw new ValidationError('identifier', 'identifier must not be the issuer: that is Tessera');
  }
  return value;
}

function checkName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 100) {
    throw new ValidationError('name', 'name must be 1 to 100 characters');
  }
  return value.trim();
}

function checkScopes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 100) {
    throw new ValidationError('scopes', 'scopes must be a list of at most 100 scope tokens');
  }
  for (const scope of value) {
    if (!isScopeToken(scope))
      throw new ValidationError('scopes', `scope "${String(scope)}" is not a valid scope token`);
    if (RESERVED_SCOPES.has(scope)) {
      throw new ValidationError(
        'scopes',
        `scope "${scope}" belongs to OpenID Connect (Tessera's own): an API cannot define it`,
      );
    }
  }
  return [...new Set(value as string[])];
}

function checkPatch(input: ApiInput): ApiPatch {
  const patch: ApiPatch = {};
  if (input.name !== undefined) patch.name = checkName(input.name);
  if (input.scopes !== undefined) patch.scopes = checkScopes(input.scopes);
  if (input.accessTokenFormat !== undefined) {
    const format = input.accessTokenFormat;
    if (format !== null && format !== 'jwt' && format !== 'opaque') {
      throw new ValidationError(
        'access_token_format',
        'access_token_format must be "jwt", "opaque" or null (the client\'s own)',
      );
    }
    patch.accessTokenFormat = format as AccessTokenFormat | null;
  }
  if (input.accessTokenTtl !== undefined) {
    const ttl = input.accessTokenTtl;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL)) {
      throw new ValidationError(
        'access_token_ttl',
        `access_token_ttl must be a whole number of seconds from 1 to ${MAX_TTL}, or null (the server's)`,
      );
    }
    patch.accessTokenTtl = ttl;
  }
  if (input.openToSelfRegistered !== undefined) {
    patch.openToSelfRegistered = Boolean(input.openToSelfRegistered);
  }
  return patch;
}

/**
 * Each scope belongs to one API: a token for an API carries only its own scopes, so a scope the
 * person allowed for one API never reaches another through a shared name.
 */
async function checkScopesUnique(ctx: AppContext, scopes: readonly string[], self?: string) {
  for (const other of await ctx.store.apis.list()) {
    if (other.id === self) continue;
    const shared = scopes.find((scope) => other.scopes.includes(scope));
    if (shared !== undefined) {
      throw new ValidationError(
        'scopes',
        `scope "${shared}" belongs to the API "${other.name}" (${other.identifier}): each scope belongs to one API`,
      );
    }
  }
}

async function audit(ctx: AppContext, type: string, api: Api) {
  await ctx.store.audit.record({
    type,
    userId: null,
    clientId: api.clientId,
    ip: null,
    details: { api: api.id, identifier: api.identifier },
    createdAt: nowSeconds(ctx),
  });
}

/**
 * Registers an API, with the client it authenticates as at /introspect: a confidential resource
 * server with no grant type (it can get no token), whose secret is returned once.
 */
export async function createApi(ctx: AppContext, input: ApiInput): Promise<ApiWithSecret> {
  const identifier = checkIdentifier(ctx, input.identifier);
  const patch = checkPatch({ ...input, name: input.name ?? '' });
  const now = nowSeconds(ctx);
  if (await ctx.store.apis.findByIdentifier(identifier)) throw new ConflictError('identifier');
  await checkScopesUnique(ctx, patch.scopes ?? []);
  const secret = randomToken(32);
  const client = await ctx.store.clients.create({
    ...CLIENT_DEFAULTS,
    id: randomId(),
    name: `${patch.name} (API)`,
    secretHash: sha256(secret),
    secretSealed: null,
    grantTypes: [],
    responseTypes: [],
    scopes: [],
    tokenEndpointAuthMethod: 'client_secret_basic',
    resourceServer: true,
    createdAt: now,
  });
  ctx.clients.invalidate(client.id);
  try {
    const api = await ctx.store.apis.create({
      id: randomId(),
      identifier,
      name: patch.name ?? '',
      scopes: patch.scopes ?? [],
      accessTokenFormat: patch.accessTokenFormat ?? null,
      accessTokenTtl: patch.accessTokenTtl ?? null,
      openToSelfRegistered: patch.openToSelfRegistered ?? false,
      clientId: client.id,
      createdAt: now,
    });
    ctx.apis.invalidate();
    await audit(ctx, 'api.created', api);
    return { api, secret };
  } catch (error) {
    // Two creations of one identifier at once: the loser leaves no client behind.
    await ctx.store.clients.delete(client.id);
    throw error;
  }
}

/** Changes an API's settings; its identifier stays (issued tokens carry it). */
export async function updateApi(ctx: AppContext, id: string, input: ApiInput): Promise<Api> {
  const existing = await ctx.store.apis.findById(id);
  if (!existing) throw new NotFoundError('api');
  if (input.identifier !== undefined && input.identifier !== existing.identifier) {
    throw new ValidationError(
      'identifier',
      'an API keeps its identifier (tokens already issued carry it): create another API instead',
    );
  }
  const patch = checkPatch(input);
  if (patch.scopes) await checkScopesUnique(ctx, patch.scopes, id);
  const api = await ctx.store.apis.update(id, patch, nowSeconds(ctx));
  if (!api) throw new NotFoundError('api');
  ctx.apis.invalidate();
  if (patch.name !== undefined) {
    await ctx.store.clients.update(api.clientId, { name: `${api.name} (API)` }, nowSeconds(ctx));
    ctx.clients.invalidate(api.clientId);
  }
  await audit(ctx, 'api.updated', api);
  return api;
}

/** Deletes an API and its introspection client. Tokens issued for it keep their `aud`. */
export async function deleteApi(ctx: AppContext, id: string): Promise<void> {
  const api = await ctx.store.apis.findById(id);
  if (!api || !(await ctx.store.apis.delete(id))) throw new NotFoundError('api');
  ctx.apis.invalidate();
  ctx.clients.invalidate(api.clientId);
  await audit(ctx, 'api.deleted', api);
}

/** Every API, from the database (for the admin API and the CLI). */
export const listApis = (ctx: AppContext): Promise<Api[]> => ctx.store.apis.list();

/** The API with this identifier, from the in-process cache. */
export async function findApi(ctx: AppContext, identifier: string): Promise<Api | undefined> {
  return (await ctx.apis.get()).byIdentifier.get(identifier);
}

/** The API that authenticates as `clientId` at /introspect, if that client is one's. */
export async function apiOfIntrospector(
  ctx: AppContext,
  clientId: string,
): Promise<Api | undefined> {
  return (await ctx.apis.get()).byClientId.get(clientId);
}

/**
 * Whether `client` may get tokens for `api`: an admin allowed it (`allowedResources`), or the
 * client registered itself (dynamic registration, a metadata document) and the API is open to
 * such clients.
 */
export function mayUseApi(client: Client, api: Api): boolean {
  return (
    client.allowedResources.includes(api.identifier) ||
    (client.registration !== 'admin' && api.openToSelfRegistered)
  );
}

/** The APIs `client` may get tokens for, from the in-process cache. */
export async function apisForClient(ctx: AppContext, client: Client): Promise<Api[]> {
  return (await ctx.apis.get()).all.filter((api) => mayUseApi(client, api));
}

/** The scopes `client` may ask for: its own, and those of the APIs it may use. */
export async function scopesForClient(ctx: AppContext, client: Client): Promise<string[]> {
  const apis = await apisForClient(ctx, client);
  if (apis.length === 0) return client.scopes;
  return [...new Set([...client.scopes, ...apis.flatMap((api) => api.scopes)])];
}

/**
 * The API tokens are for when a request names none (TESSERA_DEFAULT_RESOURCE), if `client` may
 * use it; undefined: the issuer, as before APIs existed.
 */
export async function defaultApiFor(ctx: AppContext, client: Client): Promise<Api | undefined> {
  const identifier = ctx.config.defaultResource;
  if (identifier === undefined) return undefined;
  const api = await findApi(ctx, identifier);
  return api && mayUseApi(client, api) ? api : undefined;
}
