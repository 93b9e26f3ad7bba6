import { randomInt } from 'node:crypto';
import { type AppContext, nowSeconds } from '../context.js';
import { fold } from '../lib/fold.js';
import { hmacSha256, safeEqual, sha256 } from '../lib/hash.js';
import { randomId, randomToken } from '../lib/random.js';
import type { EmailCode, EmailCodePurpose } from '../store/types.js';

/** A code lives ten minutes… */
export const CODE_MINUTES = 10;
/** …and may be tried five times, right or wrong. */
export const MAX_ATTEMPTS = 5;

/** Six digits, uniformly drawn (crypto.randomInt has no modulo bias). */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** The key a code's address is kept under: the folded address, as accounts are looked up. */
export const addressKeyOf = (email: string): string => fold(email.trim());

/**
 * The code's hash: an HMAC under the instance secret, with the code's id, since a bare SHA-256
 * of six digits is reversed by trying the million of them.
 */
const codeHash = (ctx: AppContext, id: string, code: string): string =>
  hmacSha256(ctx.config.secret, `email-code:${id}:${code}`);

/** A code just issued: what the mail carries. */
export interface IssuedCode {
  code: string;
  /** The token of the verification link, when one was asked for. */
  linkToken: string | undefined;
}

/**
 * Issues a code for `purpose` and an address, replacing the one it had, or refuses within the
 * resend limits (a wait in seconds). The code is stored whether or not the address has an
 * account (`userId` null then), so that both take the same work and answer; only the caller
 * decides to mail it, to an account's address only.
 */
export async function issueCode(
  ctx: AppContext,
  purpose: EmailCodePurpose,
  addressKey: string,
  userId: string | null,
  options: { link?: boolean; ip?: string } = {},
): Promise<IssuedCode | { wait: number; byClient?: true }> {
  if (options.ip !== undefined) {
    const ipWait = await ctx.throttle.emailCodeGuesses.send(options.ip);
    if (ipWait > 0) return { wait: ipWait, byClient: true };
  }
  const wait = await ctx.throttle.emailCodes.spend(purpose, addressKey);
  if (wait > 0) return { wait };
  const id = randomId();
  const code = newCode();
  const linkToken = options.link ? randomToken(32) : undefined;
  const now = nowSeconds(ctx);
  await ctx.store.emailCodes.replace({
    id,
    purpose,
    addressKey,
    userId,
    codeHash: codeHash(ctx, id, code),
    linkHash: linkToken === undefined ? null : sha256(linkToken),
    attempts: 0,
    createdAt: now,
    expiresAt: now + CODE_MINUTES * 60,
    consumedAt: null,
  });
  return { code, linkToken };
}

/** What became of a typed code. */
export type CodeCheck =
  | { status: 'ok'; code: EmailCode }
  | { status: 'wrong'; attemptsLeft: number }
  | { status: 'expired' }
  | { status: 'missing' }
  /** Its tries are spent, right or wrong: a new code may be sent in `retryAfter` seconds. */
  | { status: 'exhausted'; retryAfter: number }
  /**
   * Too many wrong codes for the address across codes, or too many tries from the client
   * address: no code is tried, not even a right one, for `retryAfter` seconds.
   */
  | { status: 'locked'; retryAfter: number };

const DIGITS = /^\d{6}$/;

/** Why a kept code cannot be tried now, or undefined when it can. */
async function unusable(
  ctx: AppContext,
  code: EmailCode | undefined,
  now: number,
): Promise<Exclude<CodeCheck, { status: 'ok' | 'wrong' | 'locked' }> | undefined> {
  if (!code || code.consumedAt !== null) return { status: 'missing' };
  if (code.expiresAt <= now) return { status: 'expired' };
  if (code.attempts >= MAX_ATTEMPTS) {
    const wait = await ctx.throttle.emailCodes.wait(code.purpose, code.addressKey);
    return { status: 'exhausted', retryAfter: Math.max(1, wait) };
  }
  return undefined;
}

/**
 * Tries `typed` against the live code of `purpose` and the address (for `verify_email`, the code
 * sent for the account `userId`: two accounts may wait for one address): each try counts (atomically,
 * so concurrent guesses get no more than five between them), the comparison takes constant
 * time, and a right code is spent once. Wrong codes are counted for the address across codes
 * too, and tries per client address `ip` (email-code-guesses.ts): past either, 'locked'.
 */
export async function checkCode(
  ctx: AppContext,
  purpose: EmailCodePurpose,
  addressKey: string,
  typed: string,
  options: { userId?: string; ip?: string } = {},
): Promise<CodeCheck> {
  const { userId, ip } = options;
  const guesses = ctx.throttle.emailCodeGuesses;
  const fromIp = ip === undefined ? 0 : await guesses.verify(ip);
  if (fromIp > 0) return { status: 'locked', retryAfter: fromIp };
  const locked = await guesses.reserve(addressKey);
  if (locked > 0) return { status: 'locked', retryAfter: locked };
  const now = nowSeconds(ctx);
  const kept = await ctx.store.emailCodes.find(purpose, addressKey, userId);
  const refused = await unusable(ctx, kept, now);
  if (refused || !kept) {
    await guesses.refund(addressKey);
    return refused ?? { status: 'missing' };
  }
  const counted = await ctx.store.emailCodes.addAttempt(kept.id, MAX_ATTEMPTS, now);
  if (!counted) {
    // Spent, expired or out of tries meanwhile (a concurrent try): read afresh.
    await guesses.refund(addressKey);
    const fresh = await ctx.store.emailCodes.find(purpose, addressKey, userId);
    return (await unusable(ctx, fresh, now)) ?? { status: 'missing' };
  }
  const code = typed.replace(/[\s-]/g, '');
  // Compared whatever was typed, so a malformed code takes the same time as a wrong one.
  const right = safeEqual(codeHash(ctx, counted.id, code), counted.codeHash) && DIGITS.test(code);
  // A wrong code keeps the try reserved for it: it is counted.
  if (!right) return { status: 'wrong', attemptsLeft: MAX_ATTEMPTS - counted.attempts };
  const spent = await ctx.store.emailCodes.consume(counted.id, now);
  if (!spent) {
    await guesses.refund(addressKey);
    return { status: 'missing' };
  }
  await guesses.succeeded(addressKey);
  return { status: 'ok', code: spent };
}

const linkShaped = (token: string) => token.length >= 20 && token.length <= 100;

/** The usable verification link whose token is `token`, spending nothing (to check it first). */
export async function findLink(ctx: AppContext, token: string): Promise<EmailCode | undefined> {
  if (!linkShaped(token)) return undefined;
  const code = await ctx.store.emailCodes.findByLink(sha256(token), nowSeconds(ctx));
  return code?.purpose === 'verify_email' ? code : undefined;
}

/** Spends the verification link whose token is `token`, once; undefined when unknown, used or expired. */
export async function spendLink(ctx: AppContext, token: string): Promise<EmailCode | undefined> {
  if (!linkShaped(token)) return undefined;
  const code = await ctx.store.emailCodes.consumeLink(sha256(token), nowSeconds(ctx));
  return code?.purpose === 'verify_email' ? code : undefined;
}
