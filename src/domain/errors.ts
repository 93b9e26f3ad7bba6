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

export { ConflictError } from '../store/types.js';
