import { type AppContext, nowSeconds } from '../context.js';
import { randomId } from '../lib/random.js';
import type { Address, Role, User, UserPatch } from '../store/types.js';
import { ValidationError } from './errors.js';
import { checkPassword, PASSWORD_MAX } from './password-policy.js';
import { hashParams, hashPassword } from './passwords.js';

/** The fields a person supplies when signing up (seed 002's register_user, with OpenID Connect names). */
export interface RegistrationInput {
  username: string;
  email: string;
  password: string;
  givenName?: string | null;
  familyName?: string | null;
  phoneNumber?: string | null;
  role?: Role;
  emailVerified?: boolean;
  /** Where the account is being made, for the audit log. */
  origin?: { via: 'signup' | 'api' | 'admin' | 'cli'; ip?: string | null };
}

/** The profile fields a person may edit on the account page or through the API. */
export interface ProfileInput {
  username?: string;
  email?: string;
  givenName?: string | null;
  familyName?: string | null;
  middleName?: string | null;
  nickname?: string | null;
  phoneNumber?: string | null;
  website?: string | null;
  picture?: string | null;
  gender?: string | null;
  birthdate?: string | null;
  zoneinfo?: string | null;
  locale?: string | null;
  address?: Address | null;
}

export const LIMITS = {
  username: { min: 3, max: 64 },
  email: 254,
  /** The shortest is a setting, `config.passwordMinLength`. */
  password: { max: PASSWORD_MAX },
  name: 100,
  phone: 32,
  url: 2048,
} as const;

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/*
 * One address and nothing else: a dot-atom local part (RFC 5322 §3.2.3, with Unicode letters
 * as RFC 6531 allows) and a domain of labels. No quoted local parts, comments or display names:
 * mail libraries read `victim.corp.com<evil@x.y>` or `x,evil@x.y` as a name and an address or
 * as a list, and would deliver to an address nobody verified.
 */
const SPECIALS = /[\s<>()[\]\\,;:"]/u;
const ATOM = String.raw`[^\s@<>()[\]\\,;:".]+`;
const LABEL = String.raw`[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]*[\p{L}\p{N}\p{M}])?`;
const EMAIL = new RegExp(String.raw`^${ATOM}(?:\.${ATOM})*@${LABEL}(?:\.${LABEL})+$`, 'u');
// Control (Cc), format (Cf: zero-width and bidirectional marks) and lone surrogate (Cs)
// characters: invisible, they would make two addresses that look alike two accounts.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;
const PHONE = /^\+?[0-9][0-9 ().-]*$/;
const BIRTHDATE = /^(\d{4}|0000)(-\d{2}-\d{2})?$/;

function text(field: string, value: string | null | undefined, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(field, `${field} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length > max)
    throw new ValidationError(field, `${field} must be at most ${max} characters`);
  return trimmed === '' ? null : trimmed;
}

export function checkUsername(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ValidationError('username', 'username is required');
  const username = value.trim();
  const { min, max } = LIMITS.username;
  if (username.length < min || username.length > max) {
    throw new ValidationError('username', `username must be ${min} to ${max} characters`);
  }
  if (!USERNAME.test(username)) {
    throw new ValidationError(
      'username',
      'username may hold only letters, digits, ".", "_" and "-"',
    );
  }
  return username;
}

/**
 * An e-mail address, normalised: compatibility forms folded (NFKC, so a fullwidth
 * "ａｌｉｃｅ＠example.com" is "alice@example.com") and the domain lower-cased. The
 * part before the "@" keeps the case it was typed in; addresses are unique and looked
 * up ignoring it (the store's key is `fold(email)`).
 */
export function checkEmail(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ValidationError('email', 'email is required');
  const email = value.normalize('NFKC').trim();
  if (INVISIBLE.test(email))
    throw new ValidationError('email', 'email must not contain control or invisible characters');
  if (email.length > LIMITS.email)
    throw new ValidationError('email', `email must be at most ${LIMITS.email} characters`);
  if (SPECIALS.test(email)) {
    throw new ValidationError(
      'email',
      'email must be one address, without spaces or any of < > ( ) [ ] \\ , ; : "',
    );
  }
  if (!EMAIL.test(email)) throw new ValidationError('email', 'email is not a valid e-mail address');
  const at = email.lastIndexOf('@');
  return `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`.normalize('NFKC');
}

function checkPhone(value: string | null | undefined): string | null {
  const phone = text('phone_number', value, LIMITS.phone);
  if (phone !== null && !PHONE.test(phone)) {
    throw new ValidationError(
      'phone_number',
      'phone_number may hold only digits, spaces, "+", "(", ")", "." and "-"',
    );
  }
  return phone;
}

function checkUrl(field: string, value: string | null | undefined): string | null {
  const url = text(field, value, LIMITS.url);
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new ValidationError(field, `${field} must be an http(s) URL`);
  }
  return url;
}

/** Validates a profile edit into a store patch; fields left undefined are not touched. */
export function checkProfile(input: ProfileInput): UserPatch {
  const patch: UserPatch = {};
  if (input.username !== undefined) patch.username = checkUsername(input.username);
  if (input.email !== undefined) patch.email = checkEmail(input.email);
  if (input.givenName !== undefined)
    patch.givenName = text('given_name', input.givenName, LIMITS.name);
  if (input.familyName !== undefined)
    patch.familyName = text('family_name', input.familyName, LIMITS.name);
  if (input.middleName !== undefined)
    patch.middleName = text('middle_name', input.middleName, LIMITS.name);
  if (input.nickname !== undefined) patch.nickname = text('nickname', input.nickname, LIMITS.name);
  if (input.phoneNumber !== undefined) patch.phoneNumber = checkPhone(input.phoneNumber);
  if (input.website !== undefined) patch.website = checkUrl('website', input.website);
  if (input.picture !== undefined) patch.picture = checkUrl('picture', input.picture);
  if (input.gender !== undefined) patch.gender = text('gender', input.gender, LIMITS.name);
  if (input.birthdate !== undefined) {
    const birthdate = text('birthdate', input.birthdate, 10);
    if (birthdate !== null && !BIRTHDATE.test(birthdate)) {
      throw new ValidationError('birthdate', 'birthdate must be YYYY-MM-DD or YYYY');
    }
    patch.birthdate = birthdate;
  }
  if (input.zoneinfo !== undefined) patch.zoneinfo = text('zoneinfo', input.zoneinfo, LIMITS.name);
  if (input.locale !== undefined) patch.locale = text('locale', input.locale, 35);
  if (input.address !== undefined) {
    const a = input.address;
    patch.address =
      a === null
        ? null
        : {
            ...(a.formatted ? { formatted: text('address.formatted', a.formatted, 500)! } : {}),
            ...(a.street_address
              ? { street_address: text('address.street_address', a.street_address, 200)! }
              : {}),
            ...(a.locality ? { locality: text('address.locality', a.locality, LIMITS.name)! } : {}),
            ...(a.region ? { region: text('address.region', a.region, LIMITS.name)! } : {}),
            ...(a.postal_code
              ? { postal_code: text('address.postal_code', a.postal_code, 20)! }
              : {}),
            ...(a.country ? { country: text('address.country', a.country, LIMITS.name)! } : {}),
          };
  }
  return patch;
}

/** Creates an account; @throws ValidationError, ConflictError('username' | 'email'). */
export async function registerUser(ctx: AppContext, input: RegistrationInput): Promise<User> {
  const username = checkUsername(input.username);
  const email = checkEmail(input.email);
  const password = await checkPassword(ctx, input.password, { username, email });
  const profile = checkProfile({
    givenName: input.givenName,
    familyName: input.familyName,
    phoneNumber: input.phoneNumber,
  });
  const now = nowSeconds(ctx);
  const user = await ctx.store.users.create({
    id: randomId(),
    username,
    email,
    emailVerified: input.emailVerified ?? false,
    passwordHash: await hashPassword(password, hashParams(ctx.config)),
    givenName: profile.givenName ?? null,
    familyName: profile.familyName ?? null,
    middleName: null,
    nickname: null,
    picture: null,
    website: null,
    gender: null,
    birthdate: null,
    zoneinfo: null,
    locale: null,
    phoneNumber: profile.phoneNumber ?? null,
    phoneNumberVerified: false,
    address: null,
    role: input.role ?? 'user',
    twoFactor: false,
    createdAt: now,
  });
  await ctx.store.audit.record({
    type: 'user.created',
    userId: user.id,
    clientId: null,
    ip: input.origin?.ip ?? null,
    details: { username: user.username, ...(input.origin ? { via: input.origin.via } : {}) },
    createdAt: now,
  });
  return user;
}
