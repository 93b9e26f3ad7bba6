import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { RuntimeConfig } from '../context.js';
import { type AppContext, nowSeconds } from '../context.js';
import { describeCodePoint, forbiddenInName } from '../lib/text.js';
import { ConflictError, type Passkey, type User } from '../store/types.js';
import { ValidationError } from './errors.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';

/*
 * Passkeys (WebAuthn Level 3) with @simplewebauthn/server. Every ceremony is bound to a
 * challenge the server made, that the caller keeps sealed in the browser (ui/pages/
 * passkey-ceremony.ts) for CEREMONY_SECONDS, and that is spent once, in the markers store, before
 * the response is checked: a response can never be replayed, not even a failed one.
 *
 * User verification: a passkey alone signs a person in only when the authenticator verified
 * them (a PIN or biometric: something they know or are, besides the key they have), so sign-in
 * asks for it ('required') and its `amr` always has `mfa`. As the second factor after a
 * password, and at registration, it is 'preferred': a security key without a PIN still serves
 * as the second factor.
 */

/** How long a ceremony may take, from its options to its response. */
export const CEREMONY_SECONDS = 300;

/** The longest name a person may give a passkey, in characters. */
export const PASSKEY_NAME_MAX = 64;

/** What a ceremony is for; a challenge made for one kind is refused by the others. */
export type CeremonyKind = 'register' | 'sign-in' | 'second-factor';

/** What the server keeps of a ceremony between its options and its response. */
export interface Ceremony {
  kind: CeremonyKind;
  challenge: string;
  /** The person it was made for (registration, second factor); none for a discoverable sign-in. */
  userId?: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** A passkey ceremony that failed a check; the message says which, in words for the person. */
export class PasskeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasskeyError';
  }
}

/** The WebAuthn relying party: its id (a domain), the name people see, the origin pages run on. */
export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

export function relyingParty(config: RuntimeConfig): RelyingParty {
  const issuer = new URL(config.issuer);
  return {
    id: config.webauthnRpId ?? issuer.hostname,
    name: config.webauthnRpName,
    origin: issuer.origin,
  };
}

/** The user handle of a person's passkeys: their id, as bytes (never their name or address). */
function userHandle(user: Pick<User, 'id'>): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(user.id, 'utf8'));
}

function newCeremony(ctx: AppContext, kind: CeremonyKind, challenge: string, userId?: string) {
  return {
    kind,
    challenge,
    ...(userId ? { userId } : {}),
    expiresAt: nowSeconds(ctx) + CEREMONY_SECONDS,
  };
}

/**
 * Spends the ceremony's challenge: once, before its time is up, for its kind and person.
 * Spent first, so that a response that then fails cannot be tried again either.
 */
async function spend(
  ctx: AppContext,
  ceremony: Ceremony | undefined,
  kind: CeremonyKind,
  userId?: string,
): Promise<Ceremony> {
  if (!ceremony || ceremony.kind !== kind || ceremony.userId !== userId) {
    throw new PasskeyError('No passkey request was started here: try again.');
  }
  if (ceremony.expiresAt <= nowSeconds(ctx)) {
    throw new PasskeyError('The passkey request took too long: try again.');
  }
  if (!(await ctx.store.markers.use(`webauthn:${ceremony.challenge}`, ceremony.expiresAt))) {
    throw new PasskeyError('This passkey request was used already: try again.');
  }
  return ceremony;
}

/** A passkey's name as stored: trimmed, 1 to 64 characters, no control characters. */
export function checkPasskeyName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (name === '') throw new ValidationError('name', 'Give the passkey a name.');
  if ([...name].length > PASSKEY_NAME_MAX) {
    throw new ValidationError(
      'name',
      `A passkey's name has at most ${PASSKEY_NAME_MAX} characters.`,
    );
  }
  const bad = forbiddenInName(name);
  if (bad !== undefined) {
    throw new ValidationError('name', `A passkey's name cannot hold ${describeCodePoint(bad)}.`);
  }
  return name;
}

/** The options of navigator.credentials.create() for a new passkey of `user`. */
export async function registrationOptions(
  ctx: AppContext,
  user: User,
): Promise<{ options: PublicKeyCredentialCreationOptionsJSON; ceremony: Ceremony }> {
  const rp = relyingParty(ctx.config);
  const existing = await ctx.store.passkeys.listForUser(user.id);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username,
    userID: userHandle(user),
    userDisplayName: [user.givenName, user.familyName].filter(Boolean).join(' ') || user.username,
    timeout: CEREMONY_SECONDS * 1000,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({
      id: p.id,
      transports: p.transports,
    })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  return { options, ceremony: newCeremony(ctx, 'register', options.challenge, user.id) };
}

/** Checks a new passkey's registration response and keeps it under `name`. */
export async function addPasskey(
  ctx: AppContext,
  user: User,
  ceremony: Ceremony | undefined,
  response: RegistrationResponseJSON,
  name: string,
  origin: EventOrigin,
): Promise<Passkey> {
  const { challenge } = await spend(ctx, ceremony, 'register', user.id);
  const rp = relyingParty(ctx.config);
  const verified = await verifyRegistrationResponse({
    response,
    expectedChallenge: challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    requireUserVerification: false,
  }).catch((error: unknown) => {
    throw new PasskeyError(`The passkey was not accepted: ${(error as Error).message}`);
  });
  if (!verified.verified) throw new PasskeyError('The passkey was not accepted.');
  const info = verified.registrationInfo;
  const now = nowSeconds(ctx);
  try {
    const passkey = await ctx.store.passkeys.add({
      id: info.credential.id,
      userId: user.id,
      name,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: info.credential.transports ?? response.response.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
      createdAt: now,
      lastUsedAt: null,
    });
    await recordSecurityEvent(ctx, user, 'passkey_added', origin, { subject: name });
    await passkeysChanged(ctx, user, origin);
    return passkey;
  } catch (error) {
    if (error instanceof ConflictError)
      throw new PasskeyError('This passkey is registered already.');
    throw error;
  }
}

/** The options of navigator.credentials.get() for a sign-in with any passkey (discoverable). */
export async function signInOptions(
  ctx: AppContext,
): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; ceremony: Ceremony }> {
  const options = await generateAuthenticationOptions({
    rpID: relyingParty(ctx.config).id,
    timeout: CEREMONY_SECONDS * 1000,
    userVerification: 'required',
  });
  return { options, ceremony: newCeremony(ctx, 'sign-in', options.challenge) };
}

/** The options of navigator.credentials.get() for `user`'s second factor: one of their passkeys. */
export async function secondFactorOptions(
  ctx: AppContext,
  user: User,
): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; ceremony: Ceremony }> {
  const passkeys = await ctx.store.passkeys.listForUser(user.id);
  if (passkeys.length === 0) throw new PasskeyError('You have no passkey.');
  const options = await generateAuthenticationOptions({
    rpID: relyingParty(ctx.config).id,
    timeout: CEREMONY_SECONDS * 1000,
    userVerification: 'preferred',
    allowCredentials: passkeys.map((p) => ({
      id: p.id,
      transports: p.transports,
    })),
  });
  return { options, ceremony: newCeremony(ctx, 'second-factor', options.challenge, user.id) };
}

/** Who a passkey assertion proved, and how (RFC 8176 `amr`). */
export interface PasskeyProof {
  user: User;
  passkey: Passkey;
  /** 'swk' for a synced passkey (multi-device), 'hwk' for one bound to its device; 'mfa' when the authenticator verified the person. */
  amr: string[];
}

/**
 * Checks a passkey assertion: as a sign-in (`expected` undefined: the passkey names its person)
 * or as the second factor of `expected`. Records the use (counter, time).
 */
export async function provePasskey(
  ctx: AppContext,
  ceremony: Ceremony | undefined,
  response: AuthenticationResponseJSON,
  expected?: User,
): Promise<PasskeyProof> {
  const kind = expected ? 'second-factor' : 'sign-in';
  const { challenge } = await spend(ctx, ceremony, kind, expected?.id);
  const passkey = await ctx.store.passkeys.findById(response.id);
  // One message for unknown and someone else's: it must not tell whose a passkey is.
  if (!passkey || (expected && passkey.userId !== expected.id)) {
    throw new PasskeyError('This passkey is not registered for your account.');
  }
  const handle = response.response.userHandle;
  if (
    (handle !== undefined || !expected) &&
    handle !== Buffer.from(passkey.userId).toString('base64url')
  ) {
    throw new PasskeyError('This passkey is not registered for your account.');
  }
  const user = expected ?? (await ctx.store.users.findById(passkey.userId));
  if (!user) throw new PasskeyError('This passkey is not registered for your account.');
  const rp = relyingParty(ctx.config);
  const verified = await verifyAuthenticationResponse({
    response,
    expectedChallenge: challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    credential: {
      id: passkey.id,
      publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
      counter: passkey.counter,
      transports: passkey.transports,
    },
    requireUserVerification: !expected,
  }).catch((error: unknown) => {
    throw new PasskeyError(`The passkey was not accepted: ${(error as Error).message}`);
  });
  if (!verified.verified) throw new PasskeyError('The passkey was not accepted.');
  const info = verified.authenticationInfo;
  // The library refused a counter that went backwards; this refuses the loser of two racing uses.
  if (!(await ctx.store.passkeys.updateAfterUse(passkey.id, info.newCounter, nowSeconds(ctx)))) {
    throw new PasskeyError('The passkey was not accepted: its signature counter did not go up.');
  }
  const method = info.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk';
  return { user, passkey, amr: info.userVerified ? [method, 'mfa'] : [method] };
}

/** Renames one of the person's passkeys; false when they have none with this id. */
export function renamePasskey(ctx: AppContext, user: User, id: string, name: string) {
  return ctx.store.passkeys.rename(user.id, id, name);
}

/** Removes one of the person's passkeys; false when they have none with this id. */
export async function removePasskey(
  ctx: AppContext,
  user: User,
  id: string,
  origin: EventOrigin,
): Promise<boolean> {
  const passkey = await ctx.store.passkeys.findById(id);
  if (!passkey || passkey.userId !== user.id) return false;
  if (!(await ctx.store.passkeys.remove(user.id, id))) return false;
  await recordSecurityEvent(ctx, user, 'passkey_removed', origin, { subject: passkey.name });
  await passkeysChanged(ctx, user, origin);
  return true;
}

/**
 * After a passkey was added or removed: the person's second factors changed.
 * TODO: the lead wires refreshTwoFactor(ctx, user, origin) (domain/two-factor.ts, helper "totp")
 * here at merge, so that `two_factor` and its notices follow.
 */
export async function passkeysChanged(
  _ctx: AppContext,
  _user: User,
  _origin: EventOrigin,
): Promise<void> {}
