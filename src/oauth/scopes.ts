import { InvalidScope } from './errors.js';

/** The scopes of OpenID Connect Core §5.4 and §11, which carry user claims. */
export const OIDC_SCOPES = [
  'openid',
  'profile',
  'email',
  'phone',
  'address',
  'offline_access',
] as const;

/** What the consent page says for each scope; custom scopes are shown by name. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your account identifier)',
  profile: 'See your profile: name, username and other profile details',
  email: 'See your e-mail address',
  phone: 'See your phone number',
  address: 'See your postal address',
  offline_access: 'Keep access while you are away (stay signed in to the app)',
};

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Splits a scope parameter into distinct tokens, refusing malformed ones. */
export function parseScope(value: string | undefined): string[] {
  if (value === undefined) return [];
  const tokens = value.split(' ').filter((t) => t !== '');
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token))
      throw new InvalidScope(`scope "${token}" is not a valid scope token`);
  }
  return [...new Set(tokens)];
}

/** Refuses any scope the client may not ask for. */
export function checkAllowed(requested: string[], allowed: readonly string[]): void {
  const refused = requested.filter((s) => !allowed.includes(s));
  if (refused.length > 0) {
    throw new InvalidScope(`scope not allowed for this client: ${refused.join(' ')}`);
  }
}

/** Splits a stored or already-validated scope string. */
export const splitScope = (scope: string): string[] => (scope ? scope.split(' ') : []);

export const formatScope = (scopes: readonly string[]): string => scopes.join(' ');

export const covers = (granted: readonly string[], requested: readonly string[]): boolean =>
  requested.every((s) => granted.includes(s));
