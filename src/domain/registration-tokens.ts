import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { randomId, randomToken } from '../lib/random.js';
import type { InitialAccessToken } from '../store/types.js';
import { NotFoundError, ValidationError } from './errors.js';

/**
 * Initial access tokens (RFC 7591 §3): with TESSERA_REGISTRATION=token, a registration must carry
 * one, issued by an admin. 256 random bits, kept only as their SHA-256 and looked up by it.
 */

/** The longest an initial access token may live: a year, in seconds. */
export const MAX_INITIAL_TOKEN_LIFETIME = 365 * 86_400;
/** The most registrations one initial access token may allow. */
export const MAX_INITIAL_TOKEN_USES = 1_000_000;

/** A registration's initial access token is missing, unknown, expired or used up. */
export class InitialTokenRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InitialTokenRefused';
  }
}

export interface IssueOptions {
  /** Seconds from now until it expires; never when absent. */
  expiresIn?: number;
  /** How many registrations it allows; unlimited when absent. */
  uses?: number;
}

export interface IssuedToken {
  record: InitialAccessToken;
  /** The token itself: shown once, never stored. */
  token: string;
}

function checkWhole(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    throw new ValidationError(field, `${field} must be a whole number from 1 to ${max}`);
  return value;
}

async function audit(ctx: AppContext, type: string, id: string): Promise<void> {
  await ctx.store.audit.record({
    type,
    userId: null,
    clientId: null,
    ip: null,
    details: { id },
    createdAt: nowSeconds(ctx),
  });
}

export async function issueInitialToken(
  ctx: AppContext,
  options: IssueOptions = {},
): Promise<IssuedToken> {
  const now = nowSeconds(ctx);
  const expiresIn =
    options.expiresIn === undefined
      ? undefined
      : checkWhole('expires_in', options.expiresIn, MAX_INITIAL_TOKEN_LIFETIME);
  const uses =
    options.uses === undefined ? null : checkWhole('uses', options.uses, MAX_INITIAL_TOKEN_USES);
  const token = randomToken(32);
  const record: InitialAccessToken = {
    id: randomId(),
    tokenHash: sha256(token),
    createdAt: now,
    expiresAt: expiresIn === undefined ? null : now + expiresIn,
    usesLeft: uses,
  };
  await ctx.store.registrations.createInitialToken(record);
  await audit(ctx, 'registration_token.created', record.id);
  return { record, token };
}

export function listInitialTokens(ctx: AppContext): Promise<InitialAccessToken[]> {
  return ctx.store.registrations.listInitialTokens();
}

export async function revokeInitialToken(ctx: AppContext, id: string): Promise<void> {
  if (!(await ctx.store.registrations.deleteInitialToken(id)))
    throw new NotFoundError('registration token');
  await audit(ctx, 'registration_token.deleted', id);
}

/** Whether the token could be spent now, without spending it: a refusal before any other check. */
export async function checkInitialToken(ctx: AppContext, token: string): Promise<void> {
  const found = await ctx.store.registrations.findInitialToken(sha256(token));
  const now = nowSeconds(ctx);
  if (!found) throw new InitialTokenRefused('the initial access token is not valid');
  if (found.expiresAt !== null && found.expiresAt <= now)
    throw new InitialTokenRefused('the initial access token has expired');
  if (found.usesLeft !== null && found.usesLeft <= 0)
    throw new InitialTokenRefused('the initial access token has been used up');
}

/** Spends one use of the token; refused when another request spent its last use first. */
export async function spendInitialToken(
  ctx: AppContext,
  token: string,
): Promise<InitialAccessToken> {
  const spent = await ctx.store.registrations.spendInitialToken(sha256(token), nowSeconds(ctx));
  if (!spent) throw new InitialTokenRefused('the initial access token is no longer valid');
  return spent;
}
