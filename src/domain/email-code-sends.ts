import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Counters } from '../store/counters.js';
import type { EmailCodePurpose } from '../store/types.js';
import { wholeSeconds } from './password-attempts.js';

/** A new code for one address and purpose at most once a minute… */
export const SENDS_PER_MINUTE = 1;
/** …and five times an hour. */
export const SENDS_PER_HOUR = 5;

/**
 * How often a code may be e-mailed to one address for one purpose, counted whether or not the
 * address has an account (so the limit says nothing about it) and where the other abuse limits
 * are (memory, or Redis across instances).
 */
export class EmailCodeSends {
  readonly #minute;
  readonly #hour;

  constructor(counters: Counters) {
    this.#minute = counters.counter({
      name: 'email-code:minute',
      points: SENDS_PER_MINUTE,
      duration: 60,
    });
    this.#hour = counters.counter({
      name: 'email-code:hour',
      points: SENDS_PER_HOUR,
      duration: 3600,
    });
  }

  /** Counts a send to `addressKey`; the seconds to wait before one may be sent, or 0 to send now. */
  async spend(purpose: EmailCodePurpose, addressKey: string): Promise<number> {
    const key = `${purpose}:${addressKey}`;
    // Looked at first, so that a send refused by one limit does not spend the other's points.
    const waiting = await this.wait(purpose, addressKey);
    if (waiting > 0) return waiting;
    try {
      await this.#minute.consume(key);
      await this.#hour.consume(key);
      return 0;
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      // A concurrent send won the race: the longer of the two waits.
      return Math.max(1, await this.wait(purpose, addressKey));
    }
  }

  /** The seconds until a code may be sent to `addressKey` again, or 0. */
  async wait(purpose: EmailCodePurpose, addressKey: string): Promise<number> {
    const key = `${purpose}:${addressKey}`;
    const [minute, hour] = await Promise.all([this.#minute.get(key), this.#hour.get(key)]);
    // An ended window may still be held in memory until its timer drops it: it counts for nothing.
    const left = (spent: RateLimiterRes | null, max: number) =>
      spent && spent.consumedPoints >= max && spent.msBeforeNext > 0
        ? wholeSeconds(spent.msBeforeNext)
        : 0;
    return Math.max(left(minute, SENDS_PER_MINUTE), left(hour, SENDS_PER_HOUR));
  }
}
