import { RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey } from '../lib/address-key.js';
import type { Counters } from '../store/counters.js';
import { wholeSeconds } from './password-attempts.js';

export interface EmailCodeGuessLimits {
  /** Wrong codes for one address within `window` seconds, across codes and purposes. */
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
 * ever. So wrong codes are counted per address across codes and purposes (past the limit no code
 * is tried, not even a right one, until the window ends), and sends and tries per client
 * address. Counted where the other abuse limits are (memory, or Redis across instances).
 */
export class EmailCodeGuesses {
  readonly #failures;
  readonly #sends;
  readonly #verifies;

  constructor(counters: Counters, limits: EmailCodeGuessLimits) {
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

  /**
   * Reserves one try at a code for `addressKey`, counted as wrong until `succeeded` or `refund`
   * says otherwise: reserved before the comparison, so concurrent guesses cannot pass the limit
   * between a check and a count. The seconds to wait when the limit is reached, or 0 to try.
   * Counted per address whatever the purpose (the sign-in code, the API's, the verification
   * code): every one of them proves the mailbox, so they share one allowance.
   */
  async reserve(addressKey: string): Promise<number> {
    try {
      await this.#failures.consume(addressKey);
      return 0;
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return wholeSeconds(refusal.msBeforeNext);
    }
  }

  /** A reserved try that compared nothing (no code was waiting, or it had expired). */
  async refund(addressKey: string): Promise<void> {
    await this.#failures.reward(addressKey, 1);
  }

  /** A right code: the count starts again. */
  async succeeded(addressKey: string): Promise<void> {
    await this.#failures.delete(addressKey);
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
