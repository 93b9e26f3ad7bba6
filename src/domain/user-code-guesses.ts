import { RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey } from '../lib/address-key.js';
import type { Counters } from '../store/counters.js';
import { wholeSeconds } from './password-attempts.js';

export interface UserCodeGuessLimits {
  /** Wrong or expired user codes one address may type within `window` seconds. */
  maxFailures: number;
  window: number;
}

/**
 * RFC 8628 §5.1: a user code is short enough to guess, so wrong ones are counted per address and,
 * past the limit, the address may try no code at all (not even a right one) until the window ends.
 * Counted where the other abuse limits are (memory, or Redis across instances).
 */
export class UserCodeGuesses {
  readonly #counter;
  readonly #max: number;

  constructor(counters: Counters, limits: UserCodeGuessLimits) {
    this.#max = limits.maxFailures;
    this.#counter = counters.counter({
      name: 'device:user-code:ip',
      points: limits.maxFailures,
      duration: limits.window,
    });
  }

  /** The seconds `address` must wait before it may try a code, or 0. */
  async refusedFor(address: string): Promise<number> {
    const spent = await this.#counter.get(addressKey(address));
    if (!spent || spent.consumedPoints < this.#max) return 0;
    return wholeSeconds(spent.msBeforeNext);
  }

  /** Counts a wrong code from `address`; the seconds it must now wait, or 0. */
  async failed(address: string): Promise<number> {
    try {
      const spent = await this.#counter.consume(addressKey(address));
      return spent.consumedPoints < this.#max ? 0 : wholeSeconds(spent.msBeforeNext);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return wholeSeconds(refusal.msBeforeNext);
    }
  }
}
