import type { SecurityEventType } from './security-events.js';

/**
 * Each security event in plain words, for the notice mail and the account page alike, so a
 * person reads the same thing in both. `title` is short (a subject, a list line); `sentence`
 * says what happened; `{subject}` stands for the name the event concerns (a passkey's).
 */
export const SECURITY_EVENT_WORDS: Record<SecurityEventType, { title: string; sentence: string }> =
  {
    new_device_sign_in: {
      title: 'New sign-in from a device not used before',
      sentence:
        'Your account was signed in to from a browser or device it had not been used from before.',
    },
    password_changed: {
      title: 'Password changed',
      sentence: 'The password of your account was changed.',
    },
    password_reset: {
      title: 'Password reset',
      // A passkey or app added from a stolen session outlives a reset: say where to look.
      sentence:
        'The password of your account was reset with a link sent by e-mail. Its passkeys and authenticator app still sign in: check them on your account page.',
    },
    email_changed: {
      title: 'E-mail address changed',
      sentence: 'The e-mail address of your account was changed.',
    },
    two_factor_enabled: {
      title: 'Two-factor sign-in turned on',
      sentence:
        'Two-factor sign-in was turned on: signing in now also asks for a code from an app.',
    },
    two_factor_disabled: {
      title: 'Two-factor sign-in turned off',
      sentence: 'Two-factor sign-in was turned off: a password alone now signs in to your account.',
    },
    recovery_codes_regenerated: {
      title: 'New recovery codes made',
      sentence: 'New recovery codes were made for your account; the old ones no longer work.',
    },
    passkey_added: {
      title: 'Passkey added',
      sentence: 'A passkey{subject} was added to your account: it can now sign in to it.',
    },
    passkey_removed: {
      title: 'Passkey removed',
      sentence: 'A passkey{subject} was removed from your account.',
    },
  };

/** The sentence of `event`, with the name it concerns in quotes when there is one. */
export function securitySentence(event: SecurityEventType, subject?: string): string {
  return SECURITY_EVENT_WORDS[event].sentence.replace(
    '{subject}',
    subject ? ` named “${subject}”` : '',
  );
}

export function isSecurityEventType(value: string): value is SecurityEventType {
  return Object.hasOwn(SECURITY_EVENT_WORDS, value);
}
