import { type AppContext, nowSeconds } from '../context.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { randomToken } from '../lib/random.js';
import type { ApplicationType, Client } from '../store/types.js';
import {
  checkNewClient,
  createClient,
  deleteClient,
  updateClient,
  verifyClientSecret,
} from './clients.js';
import { ValidationError } from './errors.js';
import {
  applyRegistrationPolicy,
  type RegistrationRequest,
  registrationPolicy,
} from './registration-policy.js';
import {
  checkInitialToken,
  InitialTokenRefused,
  spendInitialToken,
} from './registration-tokens.js';

/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592): a client registers
 * itself within the policy of registration-policy.ts, and gets a registration access token
 * (256 random bits, kept as its SHA-256) with which it, and only it, reads, replaces or deletes
 * its registration. Clients made here are marked `registration: 'dynamic'`.
 */

export interface Registration {
  client: Client;
  applicationType: ApplicationType;
  /** A new client secret, shown once; undefined when none was made. */
  secret: string | undefined;
  /** The registration access token, shown once, at registration. */
  accessToken: string | undefined;
}

/** The registration access token is missing, or is not the one of this client. */
export class RegistrationAccessDenied extends Error {
  constructor(message = 'the registration access token is not valid for this client') {
    super(message);
    this.name = 'RegistrationAccessDenied';
  }
}

export interface RegisterOptions {
  /** The initial access token sent, needed when TESSERA_REGISTRATION=token. */
  initialToken: string | undefined;
  ip: string | null;
}

/**
 * Registers a client. With TESSERA_REGISTRATION=token the initial access token is checked
 * first, then the request against the policy and the client rules, and only then is one use of
 * the token spent, so a refused request costs none.
 */
export async function registerClient(
  ctx: AppContext,
  request: RegistrationRequest,
  options: RegisterOptions,
): Promise<Registration> {
  const gated = ctx.config.registration === 'token';
  if (gated) {
    if (options.initialToken === undefined)
      throw new InitialTokenRefused('an initial access token is required to register a client');
    await checkInitialToken(ctx, options.initialToken);
  }
  const { input, applicationType } = applyRegistrationPolicy(
    request,
    registrationPolicy(ctx.config),
  );
  checkNewClient(ctx, input, 'dynamic');
  const spent = gated ? await spendInitialToken(ctx, options.initialToken as string) : undefined;
  const { client, secret } = await createClient(ctx, input, 'dynamic');
  const accessToken = randomToken(32);
  try {
    await ctx.store.registrations.saveRecord({
      clientId: client.id,
      accessTokenHash: sha256(accessToken),
      applicationType,
    });
  } catch (error) {
    // A client nobody can manage is worse than none.
    await deleteClient(ctx, client.id).catch(() => {});
    throw error;
  }
  await ctx.store.audit.record({
    type: 'client.registered',
    userId: null,
    clientId: client.id,
    ip: options.ip,
    details: spent ? { registration_token: spent.id } : null,
    createdAt: nowSeconds(ctx),
  });
  return { client, applicationType, secret, accessToken };
}

/**
 * The client `clientId` when `accessToken` is its registration access token. An unknown client
 * is refused the same way (RFC 7592 §3: 401), so a token tells nothing about other clients.
 */
export async function authorizeRegistration(
  ctx: AppContext,
  clientId: string,
  accessToken: string | undefined,
): Promise<{ client: Client; applicationType: ApplicationType }> {
  if (accessToken === undefined)
    throw new RegistrationAccessDenied('a registration access token is required');
  const record = await ctx.store.registrations.findRecord(clientId);
  // Compared as hashes in constant time: the stored value never meets the sent one as text.
  const presented = sha256(accessToken);
  if (!record || !safeEqual(presented, record.accessTokenHash))
    throw new RegistrationAccessDenied();
  const client = await ctx.store.clients.findById(clientId);
  if (!client) throw new RegistrationAccessDenied();
  return { client, applicationType: record.applicationType };
}

export async function readRegistration(
  ctx: AppContext,
  clientId: string,
  accessToken: string | undefined,
): Promise<Registration> {
  const { client, applicationType } = await authorizeRegistration(ctx, clientId, accessToken);
  return { client, applicationType, secret: undefined, accessToken: undefined };
}

export interface UpdateOptions {
  /** RFC 7592 §2.2: the body's client_id, which must be the client's. */
  clientId: unknown;
  /** RFC 7592 §2.2: a client_secret in the body must be the client's current one. */
  clientSecret: unknown;
}

/**
 * RFC 7592 §2.2: replaces every metadata value of the client with the request's (a value left
 * out takes its default), within the same policy as a registration.
 */
export async function updateRegistration(
  ctx: AppContext,
  clientId: string,
  accessToken: string | undefined,
  request: RegistrationRequest,
  options: UpdateOptions,
): Promise<Registration> {
  const { client: existing } = await authorizeRegistration(ctx, clientId, accessToken);
  if (options.clientId !== clientId)
    throw new ValidationError('client_id', 'client_id must be sent, and be this client’s id');
  if (
    options.clientSecret !== undefined &&
    (typeof options.clientSecret !== 'string' ||
      !verifyClientSecret(existing, options.clientSecret))
  ) {
    throw new ValidationError('client_secret', 'client_secret is not this client’s secret');
  }
  const { input, applicationType } = applyRegistrationPolicy(
    request,
    registrationPolicy(ctx.config),
  );
  const { client, secret } = await updateClient(ctx, clientId, input);
  await ctx.store.registrations.setApplicationType(clientId, applicationType);
  return { client, applicationType, secret, accessToken: undefined };
}

/** RFC 7592 §2.3: the client is gone, with its grants, codes and tokens. */
export async function deleteRegistration(
  ctx: AppContext,
  clientId: string,
  accessToken: string | undefined,
): Promise<void> {
  await authorizeRegistration(ctx, clientId, accessToken);
  await deleteClient(ctx, clientId);
}
