import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { addressKey } from '../lib/address-key.js';
import type { Counters } from '../store/counters.js';
import type { EventBus } from '../store/events.js';
import { ClientFailures } from './client-failures.js';
import { EmailCodeGuesses } from './email-code-guesses.js';
import { EmailCodeSends } from './email-code-sends.js';
import { PasswordAttempts, wholeSeconds } from './password-attempts.js';
import { SecondFactorGuesses } from './second-factor-guesses.js';
import { UserCodeGuesses } from './user-code-guesses.js';

/**
 * The abuse limits, built once from the settings: password guessing (sign-in
 * and every password check), sign-ups per address, and failed client requests
 * at /token, /introspect and /revoke. docs/accounts.md and docs/operations.md
 * say what each one does and what a person or client sees.
 */
export interface Throttle {
  passwords: PasswordAttempts;
  /** Counts a sign-up attempt from `address`; the seconds to wait, or 0 to go ahead. */
  signUp(address: string): Promise<number>;
  clients: ClientFailures;
  /** Counts a request to POST /register from `address`; the seconds to wait, or 0 to go ahead. */
  registration(address: string): Promise<number>;
  /**
   * Counts a "Forgot password?" request from `address` for the account `userId` (undefined when
   * the login names none): true to mail a link, false when either went past its hourly limit.
   */
  passwordReset(address: string, userId: string | undefined): Promise<boolean>;
  /** Wrong user codes typed at /device, per address (RFC 8628 §5.1). */
  userCodes: UserCodeGuesses;
  /** E-mailed codes sent per address and purpose: once a minute, five times an hour. */
  emailCodes: EmailCodeSends;
  /** Wrong e-mailed codes per address across codes, and codes sent and tried per client address. */
  emailCodeGuesses: EmailCodeGuesses;
  /** Wrong second-factor codes (TOTP, recovery codes), per account. */
  secondFactor: SecondFactorGuesses;
  close(): Promise<void>;
}

type LimitSettings = Pick<
  Config,
  | 'signinMaxFailures'
  | 'signinDelayAfter'
  | 'signinDelay'
  | 'signinLockout'
  | 'signinAccountMaxFailures'
  | 'signinIpMaxFailures'
  | 'signinWindow'
  | 'signinKnownAddressDays'
  | 'signupMaxPerIp'
  | 'signupWindow'
  | 'clientIpMaxFailures'
  | 'clientMaxFailures'
  | 'clientFailureWindow'
  | 'clientBlock'
  | 'deviceUserCodeMaxFailures'
  | 'deviceUserCodeWindow'
  | 'registrationRateLimit'
  | 'registrationRateWindow'
  | 'passwordResetMaxPerAccount'
  | 'passwordResetMaxPerIp'
  | 'secondFactorMaxFailures'
  | 'secondFactorWindow'
  | 'emailCodeMaxFailures'
  | 'emailCodeFailureWindow'
  | 'emailCodeSendsPerIp'
  | 'emailCodeVerifiesPerIp'
  | 'secondFactorDailyMaxFailures'
>;

/** Spends one point of `counter` for `address`: the seconds to wait, or 0 to go ahead. */
async function spend(counter: RateLimiterAbstract, address: string): Promise<number> {
  try {
    await counter.consume(addressKey(address));
    return 0;
  } catch (refusal) {
    if (!(refusal instanceof RateLimiterRes)) throw refusal;
    return wholeSeconds(refusal.msBeforeNext);
  }
}

export function openThrottle(
  config: LimitSettings,
  counters: Counters,
  events: EventBus,
): Throttle {
  const signups = counters.counter({
    name: 'signup:ip',
    points: config.signupMaxPerIp,
    duration: config.signupWindow,
  });
  const registrations = counters.counter({
    name: 'register:ip',
    points: config.registrationRateLimit,
    duration: config.registrationRateWindow,
  });
  const resetsPerIp = counters.counter({
    name: 'reset:ip',
    points: config.passwordResetMaxPerIp,
    duration: 3600,
  });
  const resetsPerAccount = counters.counter({
    name: 'reset:user',
    points: config.passwordResetMaxPerAccount,
    duration: 3600,
  });
  return {
    passwords: new PasswordAttempts(counters, {
      maxFailures: config.signinMaxFailures,
      delayAfter: config.signinDelayAfter,
      delay: config.signinDelay,
      lockout: config.signinLockout,
      accountMaxFailures: config.signinAccountMaxFailures,
      ipMaxFailures: config.signinIpMaxFailures,
      window: config.signinWindow,
      knownFor: config.signinKnownAddressDays * 86_400,
    }),
    signUp: (address) => spend(signups, address),
    registration: (address) => spend(registrations, address),
    async passwordReset(address, userId) {
      if ((await spend(resetsPerIp, address)) > 0) return false;
      return userId === undefined || (await spend(resetsPerAccount, `user:${userId}`)) === 0;
    },
    clients: new ClientFailures(
      counters,
      {
        ipMaxFailures: config.clientIpMaxFailures,
        clientMaxFailures: config.clientMaxFailures,
        window: config.clientFailureWindow,
        block: config.clientBlock,
      },
      events,
    ),
    userCodes: new UserCodeGuesses(counters, {
      maxFailures: config.deviceUserCodeMaxFailures,
      window: config.deviceUserCodeWindow,
    }),
    emailCodes: new EmailCodeSends(counters),
    emailCodeGuesses: new EmailCodeGuesses(counters, {
      maxFailures: config.emailCodeMaxFailures,
      window: config.emailCodeFailureWindow,
      sendsPerIp: config.emailCodeSendsPerIp,
      verifiesPerIp: config.emailCodeVerifiesPerIp,
    }),
    secondFactor: new SecondFactorGuesses(counters, {
      maxFailures: config.secondFactorMaxFailures,
      window: config.secondFactorWindow,
      dailyMaxFailures: config.secondFactorDailyMaxFailures,
    }),
    close: () => counters.close(),
  };
}
