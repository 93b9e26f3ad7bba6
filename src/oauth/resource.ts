import type { AppContext } from '../context.js';
import { defaultApiFor, findApi, mayUseApi } from '../domain/apis.js';
import { isResourceUri } from '../domain/resource-uri.js';
import type { Api, Client } from '../store/types.js';
import { InvalidTarget } from './errors.js';
import type { RawParams } from './params.js';

/*
 * Resource indicators (RFC 8707). An authorization request (/authorize, /par,
 * /device_authorization) may name several registered APIs; a token request names one, which
 * must be among those the authorization named. The APIs come from the in-process cache
 * (domain/api-cache.ts): no request here waits on the database for them.
 */

const MAX_RESOURCES = 10;

/**
 * The `resource` values of an authorization request, distinct and in order: the parameter may
 * be repeated (RFC 8707 §2). A request resumed after sign-in or consent, or pushed to /par,
 * carries them space-separated (authorize/request.ts `rawParams`), which no URI holds.
 */
export function readResources(params: RawParams): string[] {
  const value = params.resource;
  if (value === undefined || value === null || value === '') return [];
  const values = Array.isArray(value) ? value : [value];
  const resources: string[] = [];
  for (const item of values) {
    if (typeof item !== 'string') throw new InvalidTarget('resource must be a string');
    resources.push(...item.split(' ').filter(Boolean));
  }
  const distinct = [...new Set(resources)];
  if (distinct.length > MAX_RESOURCES)
    throw new InvalidTarget(`at most ${MAX_RESOURCES} resources per request`);
  for (const resource of distinct) checkUri(resource);
  return distinct;
}

/** The one `resource` of a token request (RFC 8707 §2.2), if any. */
export function readTokenResource(params: RawParams): string | undefined {
  const value = params.resource;
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value) || typeof value !== 'string' || value.includes(' ')) {
    throw new InvalidTarget(
      'one resource per token request: ask for a token for each API separately',
    );
  }
  checkUri(value);
  return value;
}

function checkUri(resource: string): void {
  if (!isResourceUri(resource)) {
    throw new InvalidTarget(
      `resource "${resource.slice(0, 200)}" must be an absolute URI without a fragment (RFC 8707 §2)`,
    );
  }
}

/** The registered API `resource` names, if `client` may use it; else invalid_target. */
export async function allowedApi(ctx: AppContext, client: Client, resource: string): Promise<Api> {
  const api = await findApi(ctx, resource);
  if (!api) throw new InvalidTarget(`resource "${resource}" is not a registered API`);
  if (!mayUseApi(client, api))
    throw new InvalidTarget(`this client may not obtain tokens for the resource "${resource}"`);
  return api;
}

/** Every API an authorization request names, each registered and allowed to `client`. */
export async function allowedApis(
  ctx: AppContext,
  client: Client,
  resources: readonly string[],
): Promise<Api[]> {
  const apis: Api[] = [];
  for (const resource of resources) apis.push(await allowedApi(ctx, client, resource));
  return apis;
}

/**
 * The API a token request's access token is for, or undefined for the issuer (Tessera itself,
 * /userinfo). `granted`: the resources the authorization named (its code, device code or refresh
 * token). With `resource`, it must be one of them; without, the one granted, or the default API
 * (TESSERA_DEFAULT_RESOURCE) when none was. When several were granted, the request must say
 * which (RFC 8707 §2.2 leaves it to the server; guessing would issue a token for an API the
 * client did not mean).
 */
export async function grantedTarget(
  ctx: AppContext,
  client: Client,
  requested: string | undefined,
  granted: readonly string[],
): Promise<Api | undefined> {
  if (requested !== undefined) {
    if (
      granted.length > 0 ? !granted.includes(requested) : !(await isDefault(ctx, client, requested))
    ) {
      throw new InvalidTarget(
        `resource "${requested}" was not granted: the authorization request must name it`,
      );
    }
    return allowedApi(ctx, client, requested);
  }
  if (granted.length === 1) return allowedApi(ctx, client, granted[0]!);
  if (granted.length > 1) {
    throw new InvalidTarget(
      'the authorization named several resources: name the one this token is for with resource',
    );
  }
  return defaultApiFor(ctx, client);
}

/** Whether `resource` is the default API and `client` may use it. */
async function isDefault(ctx: AppContext, client: Client, resource: string): Promise<boolean> {
  return (await defaultApiFor(ctx, client))?.identifier === resource;
}

/**
 * The API a client's own token request (client_credentials) is for: the one `resource` names,
 * or the default API, or undefined for the issuer.
 */
export async function ownTarget(
  ctx: AppContext,
  client: Client,
  requested: string | undefined,
): Promise<Api | undefined> {
  if (requested !== undefined) return allowedApi(ctx, client, requested);
  return defaultApiFor(ctx, client);
}
