import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Counters } from '../store/counters.js';
import { wholeSeconds } from './password-attempts.js';

export interface SecondFactorLimits {
  /** Wrong codes one account may send within `window` seconds. */
  maxFailures: number;
  window: number;
}

/** A code being checked: say how it went. */
export interface CodeAttempt {
  /** The code was right: the count starts again. */
  succeeded(): Promise<void>;
  /** The code was wrong: the seconds the account must now wait (this was the last one allowed), or 0. */
  failed(): Promise<number>;
}

/**
 * A six-digit code is a million guesses at most, three of which are right at any moment (the
 * window of ±1 step): wrong codes are counted per account, wherever they are typed (the sign-in's
 * second step, turning TOTP on or off, new recovery codes), so that a stolen password or session
 * cannot go on guessing. Past the limit the account may try no code at all, not even a right
 * one, until the window ends. Per account rather than per pending sign-in: a new sign-in with the
 * password would otherwise start a new count. Counted where the other abuse limits are (memory,
 * or Redis across instances).
 *
 * An attempt counts from the moment it begins and is given back when the code was right, so
 * that a burst of parallel guesses cannot slip past the limit while the first are checked.
 */
export class SecondFactorGuesses {
  readonly #counter: RateLimiterAbstract;
  readonly #max: number;

  constructor(counters: Counters, limits: SecondFactorLimits) {
    this.#max = limits.maxFailures;
    this.#counter = counters.counter({
      name: 'second-factor:account',
      points: limits.maxFailures,
      duration: limits.window,
    });
  }

  /** Begins checking a code of `userId`'s, or says how many seconds to wait before one may be. */
  async begin(userId: string): Promise<CodeAttempt | { refusedFor: number }> {
    const key = `user:${userId}`;
    let spent: RateLimiterRes;
    try {
      spent = await this.#counter.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return { refusedFor: wholeSeconds(refusal.msBeforeNext) };
    }
    return {
      succeeded: async () => {
        await this.#counter.delete(key);
      },
      failed: async () => (spent.consumedPoints < this.#max ? 0 : wholeSeconds(spent.msBeforeNext)),
    };
  }
}
