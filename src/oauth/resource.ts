import type { AppContext } from '../context.js';
import { type Consent, defaultApiFor, findApi, mayUseApi } from '../domain/apis.js';
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
 * be repeated (RFC 8707 §2), each value one URI. A request resumed after sign-in or consent, or
 * pushed to /par, keeps them as the list they were sent as (authorize/request.ts `rawParams`).
 */
export function readResources(params: RawParams): string[] {
  const value = params.resource;
  if (value === undefined || value === null || value === '') return [];
  const values: unknown[] = Array.isArray(value) ? value : [value];
  const resources: string[] = [];
  for (const item of values) {
    if (typeof item !== 'string') throw new InvalidTarget('resource must be a string');
    resources.push(item);
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
  // One value is one URI: a space is no list separator here (repeat the parameter instead).
  if (/\s/.test(resource)) {
    throw new InvalidTarget(
      `resource "${resource.slice(0, 200)}" contains a space: send each resource as its own resource parameter`,
    );
  }
  if (!isResourceUri(resource)) {
    throw new InvalidTarget(
      `resource "${resource.slice(0, 200)}" must be an absolute URI without a fragment (RFC 8707 §2)`,
    );
  }
}

/** The registered API `resource` names, if `client` may use it; else invalid_target. */
export async function allowedApi(
  ctx: AppContext,
  client: Client,
  resource: string,
  consent: Consent,
): Promise<Api> {
  const api = await findApi(ctx, resource);
  if (!api) throw new InvalidTarget(`resource "${resource}" is not a registered API`);
  if (!mayUseApi(client, api, consent))
    throw new InvalidTarget(`this client may not obtain tokens for the resource "${resource}"`);
  return api;
}

/**
 * Every API an authorization request names, each registered and allowed to `client`; a person
 * consents to what an authorization request asks.
 */
export async function allowedApis(
  ctx: AppContext,
  client: Client,
  resources: readonly string[],
): Promise<Api[]> {
  const apis: Api[] = [];
  for (const resource of resources) apis.push(await allowedApi(ctx, client, resource, 'person'));
  return apis;
}

/**
 * The API a token request's access token is for, or undefined for the issuer (Tessera itself,
 * /userinfo). `granted`: the resources the authorization named (its code, device code or refresh
 * token). With `resource`, it must be one of them; without, the one granted, or Tessera when none
 * was (the default API, TESSERA_DEFAULT_RESOURCE, was put among them at the authorization, where
 * the person saw it: see authorizedApis; never looked up again here, so a changed default moves
 * no refresh token to an API nobody consented to). When several were granted, the request must
 * say which (RFC 8707 §2.2 leaves it to the server; guessing would issue a token for an API the
 * client did not mean).
 */
export async function grantedTarget(
  ctx: AppContext,
  client: Client,
  requested: string | undefined,
  granted: readonly string[],
): Promise<Api | undefined> {
  if (requested !== undefined) {
    if (!granted.includes(requested)) {
      throw new InvalidTarget(
        `resource "${requested}" was not granted: the authorization request must name it`,
      );
    }
    return allowedApi(ctx, client, requested, 'person');
  }
  if (granted.length === 1) return allowedApi(ctx, client, granted[0]!, 'person');
  if (granted.length > 1) {
    throw new InvalidTarget(
      'the authorization named several resources: name the one this token is for with resource',
    );
  }
  return undefined;
}

/**
 * The APIs an authorization request (/authorize, /par, /device_authorization) is for: those its
 * `resource` names, or else the default API (TESSERA_DEFAULT_RESOURCE) when this client may use
 * it, so that the consent page names it and the grant records it like any other.
 */
export async function authorizedApis(
  ctx: AppContext,
  client: Client,
  params: RawParams,
): Promise<Api[]> {
  const named = readResources(params);
  if (named.length > 0) return allowedApis(ctx, client, named);
  const fallback = await defaultApiFor(ctx, client, 'person');
  return fallback ? [fallback] : [];
}

/**
 * The API a client's own token request (client_credentials) is for: the one `resource` names,
 * or the default API, or undefined for the issuer. No person consents, so only the APIs an admin
 * allowed the client count (an API open to self-registered clients is not enough).
 */
export async function ownTarget(
  ctx: AppContext,
  client: Client,
  requested: string | undefined,
): Promise<Api | undefined> {
  if (requested !== undefined) return allowedApi(ctx, client, requested, 'none');
  return defaultApiFor(ctx, client, 'none');
}
