import type { AppContext } from '../context.js';
import { fold } from '../lib/fold.js';
import { isCommonPassword } from './common-passwords.js';
import { ValidationError } from './errors.js';

/** The longest password accepted, in code points: argon2id hashes it in full. */
export const PASSWORD_MAX = 256;

/** Whose password it is: a password equal to their username or e-mail address is refused. */
export interface PasswordOwner {
  username?: string | null;
  email?: string | null;
}

/** Length as a person counts it: an emoji is one character, not two UTF-16 units. */
export const codePoints = (value: string): number => {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
};

const problem = (message: string) => new ValidationError('password', message);

/**
 * The rule for every new password, wherever it is set (sign-up, the registration and
 * admin APIs, the CLI, a change on the account page), after NIST SP 800-63B §3.1.1.2:
 * at least `TESSERA_PASSWORD_MIN_LENGTH` characters and at most 256, not only spaces,
 * not one of the 100,000 most common passwords, and not the person's username, e-mail
 * address or the part of it before the "@", ignoring case. No composition rules: a long
 * phrase beats a short mix of symbols. Returns the password exactly as typed.
 *
 * @throws ValidationError on field "password", its message fit to show a person.
 */
export async function checkPassword(
  ctx: { config: Pick<AppContext['config'], 'passwordMinLength'> },
  value: unknown,
  owner: PasswordOwner,
): Promise<string> {
  if (typeof value !== 'string' || value === '') throw problem('password is required');
  if (value.trim() === '') throw problem('password must not be only spaces');
  const min = ctx.config.passwordMinLength;
  const length = codePoints(value);
  if (length < min) throw problem(`password must be at least ${min} characters`);
  if (length > PASSWORD_MAX) throw problem(`password must be at most ${PASSWORD_MAX} characters`);

  const typed = fold(value.trim());
  const email = fold(owner.email?.trim() ?? '');
  const at = email.lastIndexOf('@');
  const personal = [fold(owner.username?.trim() ?? ''), email, at > 0 ? email.slice(0, at) : ''];
  if (personal.some((p) => p !== '' && p === typed)) {
    throw problem('password must not be the same as the username or email address');
  }
  if (await isCommonPassword(value.trim())) {
    throw problem(
      'This password is one of the most commonly used passwords, which are the first ones attackers try. Choose another one.',
    );
  }
  return value;
}
