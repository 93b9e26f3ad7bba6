import { RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey } from '../lib/address-key.js';
import type { Counters } from '../store/counters.js';
import type { EmailCodePurpose } from '../store/types.js';
import { wholeSeconds } from './password-attempts.js';

export interface EmailCodeGuessLimits {
  /** Wrong codes for one purpose and address within `window` seconds, across codes. */
  maxFailures: number;
  window: number;
  /** Codes one client address may ask for in an hour. */
  sendsPerIp: number;
  /** Codes and links one client address may try in an hour. */
  verifiesPerIp: number;
}

/**
 * Guessing e-mailed codes, counted beyond one code: each code allows five tries and a new one
 * may be sent five times an hour, which alone would allow 25 guesses an hour at an address for
 * ever. So wrong codes are counted per purpose and address across codes (past the limit no code
 * is tried, not even a right one, until the window ends), and sends and tries per client
 * address. Counted where the other abuse limits are (memory, or Redis across instances).
 */
export class EmailCodeGuesses {
  readonly #failures;
  readonly #sends;
  readonly #verifies;
  readonly #max: number;

  constructor(counters: Counters, limits: EmailCodeGuessLimits) {
    this.#max = limits.maxFailures;
    this.#failures = counters.counter({
      name: 'email-code:failures',
      points: limits.maxFailures,
      duration: limits.window,
    });
    this.#sends = counters.counter({
      name: 'email-code:send:ip',
      points: limits.sendsPerIp,
      duration: 3600,
    });
    this.#verifies = counters.counter({
      name: 'email-code:verify:ip',
      points: limits.verifiesPerIp,
      duration: 3600,
    });
  }

  /** The seconds before a code for `addressKey` may be tried again, or 0. */
  async refusedFor(purpose: EmailCodePurpose, addressKey: string): Promise<number> {
    const spent = await this.#failures.get(`${purpose}:${addressKey}`);
    if (!spent || spent.consumedPoints < this.#max || spent.msBeforeNext <= 0) return 0;
    return wholeSeconds(spent.msBeforeNext);
  }

  /** Counts a wrong code for `addressKey`. */
  async failed(purpose: EmailCodePurpose, addressKey: string): Promise<void> {
    try {
      await this.#failures.consume(`${purpose}:${addressKey}`);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
    }
  }

  /** A right code: the count starts again. */
  async succeeded(purpose: EmailCodePurpose, addressKey: string): Promise<void> {
    await this.#failures.delete(`${purpose}:${addressKey}`);
  }

  /** Counts a code asked for from `ip`; the seconds to wait, or 0 to send. */
  send(ip: string): Promise<number> {
    return spend(this.#sends, ip);
  }

  /** Counts a code or link tried from `ip`; the seconds to wait, or 0 to try. */
  verify(ip: string): Promise<number> {
    return spend(this.#verifies, ip);
  }
}

async function spend(
  counter: { consume(key: string): Promise<unknown> },
  ip: string,
): Promise<number> {
  try {
    await counter.consume(addressKey(ip));
    return 0;
  } catch (refusal) {
    if (!(refusal instanceof RateLimiterRes)) throw refusal;
    return wholeSeconds(refusal.msBeforeNext);
  }
}
