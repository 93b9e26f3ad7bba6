import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import { type AppContext, nowSeconds } from '../context.js';
import type { Passkey, User } from '../store/types.js';
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
 * Signing in with a passkey: alone (a discoverable passkey names its person; user verification
 * required, so the sign-in is multi-factor), or as the second factor after a password.
 */

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
  const { challenge } = await spendCeremony(ctx, ceremony, kind, expected?.id);
  const passkey = await ctx.store.passkeys.findById(response.id);
  // One message for unknown and someone else's: it must not tell whose a passkey is.
  if (!passkey || (expected && passkey.userId !== expected.id)) {
    throw new PasskeyError('This passkey is not registered for your account.');
  }
  // A discoverable passkey names its person (the user handle), which must be its owner; as the
  // second factor the browser may leave it out.
  const handle = response.response.userHandle;
  if (
    (handle !== undefined || !expected) &&
    handle !== userHandle(passkey.userId).toString('base64url')
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
