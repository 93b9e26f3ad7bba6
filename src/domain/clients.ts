import { type AppContext, nowSeconds } from '../context.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { randomId, randomToken } from '../lib/random.js';
import { seal } from '../lib/seal.js';
import type { Client, ClientPatch, ClientRegistration } from '../store/types.js';
import {
  CLIENT_DEFAULTS,
  type ClientInput,
  type ClientMetadata,
  type ClientRules,
  checkName,
  resolveClient,
  SECRET_METHODS,
} from './client-rules.js';
import { NotFoundError, ValidationError } from './errors.js';

export {
  AUTH_METHODS,
  type ClientInput,
  checkRedirectUri,
  checkScopes,
  DEFAULT_SCOPES,
  GRANT_TYPES,
  RESPONSE_TYPES,
} from './client-rules.js';

export interface ClientWithSecret {
  client: Client;
  /** The plain secret: shown once, never stored. Undefined when no new secret was made. */
  secret: string | undefined;
}

/** What lib/seal.ts seals a client_secret_jwt client's secret for. */
export const CLIENT_SECRET_PURPOSE = 'client-secret-jwt';

interface NewSecret {
  secret: string;
  secretHash: string;
  secretSealed: string | null;
}

/**
 * A new client secret: 256 random bits, of which only the SHA-256 is kept, except for a
 * client_secret_jwt client: checking its HMAC needs the secret itself, so it is also kept sealed
 * under the instance secret (AES-256-GCM, lib/seal.ts).
 */
function newSecret(ctx: AppContext, method: string): NewSecret {
  const secret = randomToken(32);
  return {
    secret,
    secretHash: sha256(secret),
    secretSealed:
      method === 'client_secret_jwt'
        ? seal(ctx.config.secret, CLIENT_SECRET_PURPOSE, secret)
        : null,
  };
}

/** Whether a client with this method is given a secret: not public ones, nor private_key_jwt. */
const needsSecret = (method: string) => SECRET_METHODS.includes(method);

/**
 * Whether `presented` is the client's secret. Client secrets are 256-bit random
 * values, so a SHA-256 compared in constant time is enough (see DESIGN.md).
 */
export function verifyClientSecret(client: Client, presented: string): boolean {
  return client.secretHash !== null && safeEqual(sha256(presented), client.secretHash);
}

function rulesOf(ctx: AppContext): ClientRules {
  return {
    production: ctx.config.nodeEnv === 'production',
    allowLoopback: ctx.config.cimdAllowLoopback,
  };
}

/**
 * The settings a new client with `input` would have, checked as a whole; nothing is stored.
 * `registration` matters: a client that registers itself may not name internal addresses.
 */
export function checkNewClient(
  ctx: AppContext,
  input: ClientInput,
  registration: ClientRegistration = 'admin',
): ClientMetadata {
  const base = { ...CLIENT_DEFAULTS, name: checkName(input.name), registration };
  return resolveClient(base, input, rulesOf(ctx));
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

/**
 * Registers a client; a confidential one gets a 256-bit secret, stored only as its SHA-256.
 * `registration` says how it came to be (an admin's, unless it registered itself).
 */
export async function createClient(
  ctx: AppContext,
  input: ClientInput,
  registration: ClientRegistration = 'admin',
): Promise<ClientWithSecret> {
  const settings = checkNewClient(ctx, input, registration);
  const made = needsSecret(settings.tokenEndpointAuthMethod)
    ? newSecret(ctx, settings.tokenEndpointAuthMethod)
    : undefined;
  const client = await ctx.store.clients.create({
    ...settings,
    id: randomId(),
    secretHash: made?.secretHash ?? null,
    secretSealed: made?.secretSealed ?? null,
    createdAt: nowSeconds(ctx),
  });
  // Every change reaches the cache (and, through it, other instances), creation included.
  ctx.clients.invalidate(client.id);
  await audit(ctx, 'client.created', client.id, { name: client.name, registration });
  return { client, secret: made?.secret };
}

/** The settings of a client record, so that an update never writes its secret back. */
function settingsOf(client: Client): ClientMetadata {
  const {
    id: _id,
    secretHash: _hash,
    secretSealed: _sealed,
    createdAt: _created,
    updatedAt: _updated,
    ...rest
  } = client;
  return rest;
}

/**
 * Changes a client's settings; `input` holds only what changes, and the result
 * is checked as a whole. A client made public, or switched to private_key_jwt, loses its
 * secret; one made confidential gets a new secret, returned once, and so does one switched to
 * client_secret_jwt: its old secret was kept only as a hash, and its HMAC needs the secret itself.
 */
export async function updateClient(
  ctx: AppContext,
  id: string,
  input: ClientInput,
): Promise<ClientWithSecret> {
  const existing = await ctx.store.clients.findById(id);
  if (!existing) throw new NotFoundError('client');
  const patch: ClientPatch = resolveClient(settingsOf(existing), input, rulesOf(ctx));
  let secret: string | undefined;
  const method = patch.tokenEndpointAuthMethod ?? existing.tokenEndpointAuthMethod;
  const toSecretJwt =
    method === 'client_secret_jwt' && existing.tokenEndpointAuthMethod !== 'client_secret_jwt';
  if (!needsSecret(method)) {
    patch.secretHash = null;
    patch.secretSealed = null;
  } else if (existing.secretHash === null || toSecretJwt) {
    const made = newSecret(ctx, method);
    secret = made.secret;
    patch.secretHash = made.secretHash;
    patch.secretSealed = made.secretSealed;
  } else if (method !== 'client_secret_jwt') {
    patch.secretSealed = null;
  }
  const now = nowSeconds(ctx);
  const client = await ctx.store.clients.update(id, patch, now);
  if (!client) throw new NotFoundError('client');
  ctx.clients.invalidate(id);
  // Its refresh tokens were bound to its secret; without one, anyone with its id could use them.
  // (A client switched to private_key_jwt keeps them: it still proves itself, with its keys.)
  if (existing.type === 'confidential' && client.type === 'public') {
    const revoked = await ctx.store.tokens.revokeRefreshTokensOfClient(id, now);
    await audit(ctx, 'client.refresh_tokens_revoked', id, {
      count: revoked,
      reason: 'made public',
    });
  }
  await audit(ctx, 'client.updated', id);
  return { client, secret };
}

/** Replaces a confidential client's secret; the old one stops working at once. */
export async function rotateClientSecret(ctx: AppContext, id: string): Promise<ClientWithSecret> {
  const existing = await ctx.store.clients.findById(id);
  if (!existing) throw new NotFoundError('client');
  if (existing.type === 'public')
    throw new ValidationError('client_type', 'a public client has no secret to rotate');
  if (!needsSecret(existing.tokenEndpointAuthMethod)) {
    throw new ValidationError(
      'token_endpoint_auth_method',
      'a private_key_jwt client has no secret to rotate: it signs with its own keys',
    );
  }
  const made = newSecret(ctx, existing.tokenEndpointAuthMethod);
  const client = await ctx.store.clients.update(
    id,
    { secretHash: made.secretHash, secretSealed: made.secretSealed },
    nowSeconds(ctx),
  );
  if (!client) throw new NotFoundError('client');
  ctx.clients.invalidate(id);
  await audit(ctx, 'client.secret_rotated', id);
  return { client, secret: made.secret };
}

/** Deletes a client with every grant, code and token of its. */
export async function deleteClient(ctx: AppContext, id: string): Promise<void> {
  if (!(await ctx.store.clients.delete(id))) throw new NotFoundError('client');
  ctx.clients.invalidate(id);
  await audit(ctx, 'client.deleted', id);
}
