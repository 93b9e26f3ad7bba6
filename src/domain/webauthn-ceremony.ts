import { type AppContext, nowSeconds, type RuntimeConfig } from '../context.js';

/*
 * The WebAuthn ceremonies' common part: the relying party, and the challenge every ceremony is
 * bound to. The caller keeps the challenge sealed in the browser (ui/pages/passkey-ceremony.ts)
 * for CEREMONY_SECONDS; it is spent once, in the markers store, before the response is checked:
 * a response can never be replayed, not even a failed one.
 */

/** How long a ceremony may take, from its options to its response. */
export const CEREMONY_SECONDS = 300;

/** The user handle of a person's passkeys: their id, as bytes (never their name or address). */
export function userHandle(userId: string): Buffer {
  return Buffer.from(userId, 'utf8');
}

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
    name: config.webauthnRpName ?? config.siteName,
    origin: issuer.origin,
  };
}

export function newCeremony(
  ctx: AppContext,
  kind: CeremonyKind,
  challenge: string,
  userId?: string,
) {
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
export async function spendCeremony(
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
