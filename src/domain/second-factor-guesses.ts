import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Counters } from '../store/counters.js';
import { wholeSeconds } from './password-attempts.js';

export interface SecondFactorLimits {
  /** Wrong codes one account may send within `window` seconds. */
  maxFailures: number;
  window: number;
  /** Wrong codes one account may send within a day, however the shorter windows fall. */
  dailyMaxFailures: number;
}

/** The day of `dailyMaxFailures`, in seconds. */
export const SECOND_FACTOR_DAY = 86_400;

/** A code being checked: say how it went. */
export interface CodeAttempt {
  /** The code was right: the count starts again. */
  succeeded(): Promise<void>;
  /** The code was wrong: the seconds the account must now wait (this was the last one allowed), or 0. */
  failed(): Promise<number>;
  /** It was not a code after all (the password, which held): nothing is counted. */
  forgiven(): Promise<void>;
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
 * The shorter window alone would allow ~480 guesses a day (5 every 15 minutes), so a daily cap
 * stands beside it; a right code does not give back the day's wrong ones.
 *
 * An attempt counts from the moment it begins and is given back when the code was right, so
 * that a burst of parallel guesses cannot slip past the limit while the first are checked.
 */
export class SecondFactorGuesses {
  readonly #counter: RateLimiterAbstract;
  readonly #daily: RateLimiterAbstract;
  readonly #max: number;
  readonly #dailyMax: number;

  constructor(counters: Counters, limits: SecondFactorLimits) {
    this.#max = limits.maxFailures;
    this.#dailyMax = limits.dailyMaxFailures;
    this.#counter = counters.counter({
      name: 'second-factor:account',
      points: limits.maxFailures,
      duration: limits.window,
    });
    this.#daily = counters.counter({
      name: 'second-factor:account-day',
      points: limits.dailyMaxFailures,
      duration: SECOND_FACTOR_DAY,
    });
  }

  /** Begins checking a code of `userId`'s, or says how many seconds to wait before one may be. */
  async begin(userId: string): Promise<CodeAttempt | { refusedFor: number }> {
    const key = `user:${userId}`;
    let day: RateLimiterRes;
    try {
      day = await this.#daily.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return { refusedFor: wholeSeconds(refusal.msBeforeNext) };
    }
    let spent: RateLimiterRes;
    try {
      spent = await this.#counter.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      // Refused before any check: not a guess, so the day does not count it.
      await this.#daily.reward(key, 1);
      return { refusedFor: wholeSeconds(refusal.msBeforeNext) };
    }
    return {
      succeeded: async () => {
        await this.#counter.delete(key);
        await this.#daily.reward(key, 1);
      },
      forgiven: async () => {
        await this.#counter.reward(key, 1);
        await this.#daily.reward(key, 1);
      },
      failed: async () =>
        Math.max(
          spent.consumedPoints < this.#max ? 0 : wholeSeconds(spent.msBeforeNext),
          day.consumedPoints < this.#dailyMax ? 0 : wholeSeconds(day.msBeforeNext),
        ),
    };
  }
}
