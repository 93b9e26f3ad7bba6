import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { type AppContext, nowSeconds } from '../context.js';
import { describeCodePoint, forbiddenInName } from '../lib/text.js';
import { ConflictError, type Passkey, type User } from '../store/types.js';
import { ValidationError } from './errors.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';
import { refreshTwoFactor } from './two-factor.js';
import {
  CEREMONY_SECONDS,
  type Ceremony,
  newCeremony,
  PasskeyError,
  relyingParty,
  spendCeremony,
  userHandle,
} from './webauthn-ceremony.js';

/*
 * Passkeys (WebAuthn Level 3) with @simplewebauthn/server: registering and managing them here,
 * signing in with them in passkey-sign-in.ts, the ceremonies' challenges in webauthn-ceremony.ts.
 *
 * User verification: a passkey alone signs a person in only when the authenticator verified
 * them (a PIN or biometric: something they know or are, besides the key they have), so sign-in
 * asks for it ('required') and its `amr` always has `mfa`. As the second factor after a
 * password, and at registration, it is 'preferred': a security key without a PIN still serves
 * as the second factor.
 */

/** The longest name a person may give a passkey, in characters. */
export const PASSKEY_NAME_MAX = 64;

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
    userID: new Uint8Array(userHandle(user.id)),
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
  const { challenge } = await spendCeremony(ctx, ceremony, 'register', user.id);
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

/** After a passkey was added or removed: `two_factor` and its notices follow the second factors. */
export async function passkeysChanged(
  ctx: AppContext,
  user: User,
  origin: EventOrigin,
): Promise<void> {
  await refreshTwoFactor(ctx, user, origin);
}
