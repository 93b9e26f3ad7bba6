import { LRUCache } from 'lru-cache';
import type { User } from '../store/types.js';

/**
 * The standard claims of OpenID Connect Core §5.1, by the scope that
 * releases them (§5.4). Seed 003's "verified" and "two_factor" flags are
 * `email_verified` and a `two_factor` claim released with `profile`.
 */
export const CLAIMS_BY_SCOPE: Record<string, readonly string[]> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
    'two_factor',
  ],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
};

export const SUPPORTED_CLAIMS = ['sub', ...Object.values(CLAIMS_BY_SCOPE).flat()];

/** What the consent page says for a claim asked for by name (the `claims` parameter). */
export const CLAIM_DESCRIPTIONS: Record<string, string> = {
  name: 'See your full name',
  family_name: 'See your last name',
  given_name: 'See your first name',
  middle_name: 'See your middle name',
  nickname: 'See your nickname',
  preferred_username: 'See your username',
  profile: 'See the address of your profile page',
  picture: 'See your profile picture',
  website: 'See your website',
  gender: 'See your gender',
  birthdate: 'See your date of birth',
  zoneinfo: 'See your time zone',
  locale: 'See your language and region',
  updated_at: 'See when your profile was last updated',
  two_factor: 'See whether you use two-factor sign-in',
  email: 'See your e-mail address',
  email_verified: 'See whether your e-mail address is verified',
  phone_number: 'See your phone number',
  phone_number_verified: 'See whether your phone number is verified',
  address: 'See your postal address',
};

/** Every claim value the user has, by claim name; absent values are left out. */
export function userClaims(user: User, issuer: string): Record<string, unknown> {
  const name = [user.givenName, user.middleName, user.familyName].filter(Boolean).join(' ');
  const all: Record<string, unknown> = {
    name: name || undefined,
    family_name: user.familyName ?? undefined,
    given_name: user.givenName ?? undefined,
    middle_name: user.middleName ?? undefined,
    nickname: user.nickname ?? undefined,
    preferred_username: user.username,
    profile: `${issuer}/account`,
    picture: user.picture ?? undefined,
    website: user.website ?? undefined,
    gender: user.gender ?? undefined,
    birthdate: user.birthdate ?? undefined,
    zoneinfo: user.zoneinfo ?? undefined,
    locale: user.locale ?? undefined,
    updated_at: user.updatedAt,
    two_factor: user.twoFactor,
    email: user.email,
    email_verified: user.emailVerified,
    phone_number: user.phoneNumber ?? undefined,
    phone_number_verified: user.phoneNumber ? user.phoneNumberVerified : undefined,
    address: user.address ?? undefined,
  };
  return all;
}

/**
 * Answers by scopes and requested names: a deployment has few combinations, and userinfo asks each
 * time. Bounded, the least recently used going first: scopes and requested names come from
 * clients, so their combinations could be many.
 */
const releasedByKey = new LRUCache<string, ReadonlySet<string>>({ max: 1_000 });

/** The names of the claims a set of scopes releases, plus individually requested ones. */
export function releasedClaimNames(
  scopes: readonly string[],
  requested: readonly string[] = [],
): ReadonlySet<string> {
  const key = `${scopes.join(' ')}|${requested.join(' ')}`;
  const known = releasedByKey.get(key);
  if (known) return known;
  const names = new Set<string>(['sub']);
  for (const scope of scopes) for (const claim of CLAIMS_BY_SCOPE[scope] ?? []) names.add(claim);
  for (const claim of requested) if (SUPPORTED_CLAIMS.includes(claim)) names.add(claim);
  releasedByKey.set(key, names);
  return names;
}

/** The claims of `user` that `names` allows, with `sub`. */
export function pickClaims(
  user: User,
  issuer: string,
  names: ReadonlySet<string>,
): Record<string, unknown> {
  const all = userClaims(user, issuer);
  const out: Record<string, unknown> = { sub: user.id };
  for (const name of names) {
    if (name === 'sub') continue;
    const value = all[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
