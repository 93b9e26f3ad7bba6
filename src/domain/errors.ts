/**
 * Errors of the domain rules, independent of any wire format: the HTTP layer
 * maps them to `invalid_request` bodies, form messages or OAuth errors.
 */

/** Input that breaks a rule; `field` names what is wrong, in the caller's vocabulary. */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends Error {
  constructor(readonly what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

/**
 * Refused by an abuse limit, without looking at the request further: the
 * caller may try again after `retryAfter` whole seconds. Answered with 429 and
 * `Retry-After`; the pages show their own form with a message instead.
 */
export class TooManyAttempts extends Error {
  constructor(
    readonly retryAfter: number,
    message: string,
  ) {
    super(message);
    this.name = 'TooManyAttempts';
  }
}

export { ConflictError } from '../store/types.js';
