import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey } from '../lib/address-key.js';
import type { Counters } from '../store/counters.js';

/**
 * The limits on guessing a password (NIST SP 800-63B §5.2.2), for sign-in and
 * for every other place that asks for a password again:
 *
 * - per account and address, wrong passwords in a row: after `delayAfter` each
 *   next attempt waits, `delay` seconds and twice as long each time; after
 *   `maxFailures` the address is locked out of the account for `lockout`
 *   seconds. The right password starts the count again.
 * - per account, from every address: `accountMaxFailures` within `window`
 *   locks the account for `lockout` seconds, so that guesses spread over many
 *   addresses stop too.
 * - per address, for every account: `ipMaxFailures` within `window` locks the
 *   address out of every account, against a few common passwords tried on many.
 *
 * - an address from which the account signed in within `knownFor` seconds
 *   is exempt from the account's lockout (not from its own limit): guesses
 *   spread over many addresses then keep the person out only where they have
 *   never signed in before.
 *
 * An attempt counts from the moment it begins and is given back when the
 * password was right: a burst of parallel guesses cannot slip past the limit
 * while the first ones are still being checked. An attempt refused by one
 * limit is not counted by the others, so one address locked out of an account
 * cannot go on to lock the account out for everyone.
 */
export interface PasswordLimits {
  maxFailures: number;
  delayAfter: number;
  delay: number;
  lockout: number;
  accountMaxFailures: number;
  ipMaxFailures: number;
  window: number;
  /** Seconds an address that signed in stays known to the account; 0: none is. */
  knownFor: number;
}

export type LockoutScope = 'account_ip' | 'account' | 'ip';

/** Most specific first: see the last sentence above. */
const SCOPES: readonly LockoutScope[] = ['account_ip', 'account', 'ip'];

export interface Lockout {
  scope: LockoutScope;
  /** Failures counted in that scope. */
  failures: number;
  seconds: number;
}

export interface Failure {
  /** The account's first counted failure in the window: the one worth an audit event. */
  first: boolean;
  /** The address's first counted failure in the window, for logins that name no account. */
  firstFromAddress: boolean;
  /** The lockouts this failure began. */
  lockouts: Lockout[];
}

/** An attempt under way: say how it went. */
export interface Attempt {
  succeeded(): Promise<void>;
  failed(): Promise<Failure>;
}

/** Whole seconds to wait, at least 1, for a wait in milliseconds. */
export function wholeSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export class PasswordAttempts {
  private readonly counters: Record<LockoutScope, RateLimiterAbstract>;
  /** Blocked keys of account and address that must wait before their next attempt. */
  private readonly waits: RateLimiterAbstract;
  /** Keys of account and address that signed in: set() and get() only. */
  private readonly known: RateLimiterAbstract;

  constructor(
    counters: Counters,
    private readonly limits: PasswordLimits,
  ) {
    const { window: duration, lockout: blockDuration } = limits;
    this.counters = {
      account_ip: counters.counter({
        name: 'signin:account-ip',
        points: limits.maxFailures,
        duration,
        blockDuration,
      }),
      account: counters.counter({
        name: 'signin:account',
        points: limits.accountMaxFailures,
        duration,
        blockDuration,
      }),
      ip: counters.counter({
        name: 'signin:ip',
        points: limits.ipMaxFailures,
        duration,
        blockDuration,
      }),
    };
    // Only block() and get() are used: a key is blocked for the wait, nothing is counted.
    this.waits = counters.counter({ name: 'signin:wait', points: 1, duration: 1 });
    this.known = counters.counter({
      name: 'signin:known',
      points: 1,
      duration: Math.max(limits.knownFor, 1),
    });
  }

  /**
   * Begins an attempt on `account` (a stable key for the account, or for the
   * login when it names none) from the address `ip`; or says how many seconds to
   * wait before one may be made.
   */
  async begin(account: string, ip: string): Promise<Attempt | { refusedFor: number }> {
    const address = addressKey(ip);
    const keys: Record<LockoutScope, string> = {
      account_ip: `${account}|${address}`,
      account,
      ip: address,
    };
    const wait = await this.waits.get(keys.account_ip);
    if (wait && wait.consumedPoints > 1 && wait.msBeforeNext > 0) {
      return { refusedFor: wholeSeconds(wait.msBeforeNext) };
    }
    const counted: LockoutScope[] = [];
    const counts: Partial<Record<LockoutScope, number>> = {};
    for (const scope of SCOPES) {
      try {
        counts[scope] = (await this.counters[scope].consume(keys[scope])).consumedPoints;
        counted.push(scope);
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        if (scope === 'account' && (await this.isKnown(keys.account_ip))) continue;
        await Promise.all(counted.map((s) => this.counters[s].reward(keys[s])));
        return { refusedFor: wholeSeconds(refusal.msBeforeNext) };
      }
    }
    return {
      succeeded: async () => {
        const { knownFor } = this.limits;
        await Promise.all([
          this.counters.account_ip.delete(keys.account_ip),
          this.waits.delete(keys.account_ip),
          ...counted
            .filter((scope) => scope !== 'account_ip')
            .map((scope) => this.counters[scope].reward(keys[scope])),
          knownFor > 0 ? this.known.set(keys.account_ip, 1, knownFor) : undefined,
        ]);
      },
      failed: () => this.failed(keys, counts),
    };
  }

  private async isKnown(accountAndAddress: string): Promise<boolean> {
    return this.limits.knownFor > 0 && (await this.known.get(accountAndAddress)) !== null;
  }

  private async failed(
    keys: Record<LockoutScope, string>,
    counts: Partial<Record<LockoutScope, number>>,
  ): Promise<Failure> {
    const { lockout } = this.limits;
    const lockouts: Lockout[] = [];
    for (const scope of SCOPES) {
      // Not counted: a known address trying during the account's lockout.
      if (counts[scope] === undefined || counts[scope] < this.counters[scope].points) continue;
      // The failure that reaches the limit begins the lockout; the library alone would wait for the next one.
      await this.counters[scope].block(keys[scope], lockout);
      lockouts.push({ scope, failures: counts[scope], seconds: lockout });
    }
    const inARow = counts.account_ip ?? 0;
    const { delay, delayAfter } = this.limits;
    if (lockouts.length === 0 && delay > 0 && inARow >= delayAfter) {
      const doublings = Math.min(inARow - Math.max(delayAfter, 1), 20);
      await this.waits.block(keys.account_ip, Math.min(delay * 2 ** doublings, lockout));
    }
    return { first: counts.account === 1, firstFromAddress: counts.ip === 1, lockouts };
  }
}
