import { generateSecret, generateURI, verify } from 'otplib';
import { type AppContext, nowSeconds } from '../context.js';
import { seal, unseal } from '../lib/seal.js';
import type { TotpEnrolment, User } from '../store/types.js';
import { newRecoveryCodes, normaliseRecoveryCode, recoveryCodeHash } from './recovery-codes.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';
import { refreshTwoFactor } from './two-factor.js';

/** The time step of the codes (RFC 6238 §5.2 recommends 30 seconds; every authenticator app uses it). */
export const TOTP_PERIOD = 30;

/** How long a person has between opening the enrolment page and typing its first code. */
export const ENROLMENT_SECONDS = 900;

const SECRET_PURPOSE = 'totp';
const ENROLMENT_PURPOSE = 'totp-enrolment';

/** An enrolment in progress: the secret shown to the person, not stored until a first code confirms it. */
export interface Enrolment {
  /** Base32, 160 bits (RFC 4226 §4 asks for at least 128). */
  secret: string;
  /** The `otpauth://` URI authenticator apps read from the QR code. */
  uri: string;
  /** The secret sealed for the page's hidden field, bound to the person and to an expiry. */
  sealed: string;
}

/** Why a code was not accepted: a wrong code, or a right one whose time step was used already. */
export type CodeRefusal = 'wrong' | 'reused';

export type CodeCheck =
  | { ok: true; kind: 'totp' | 'recovery' }
  | { ok: false; reason: CodeRefusal; lockedFor: number }
  | { ok: false; reason: 'locked'; lockedFor: number };

/**
 * The otpauth:// URI of Google's Key Uri Format: issuer (TESSERA_SITE_NAME, the name the app
 * shows for the account), account, secret.
 */
export function otpauthUri(
  issuer: string,
  user: Pick<User, 'email' | 'username'>,
  secret: string,
): string {
  return generateURI({ issuer, label: user.email || user.username, secret });
}

function enrolmentOf(ctx: AppContext, user: User, secret: string, sealed: string): Enrolment {
  return { secret, uri: otpauthUri(ctx.config.siteName, user, secret), sealed };
}

/** A new secret for `user` to add to their app; nothing is stored until confirmEnrolment. */
export function beginEnrolment(ctx: AppContext, user: User): Enrolment {
  const secret = generateSecret({ length: 20 });
  const body = JSON.stringify({ u: user.id, s: secret, e: nowSeconds(ctx) + ENROLMENT_SECONDS });
  return enrolmentOf(ctx, user, secret, seal(ctx.config.secret, ENROLMENT_PURPOSE, body));
}

/** The enrolment a page's hidden field carries, when it is genuine, `user`'s, and not expired. */
export function reopenEnrolment(
  ctx: AppContext,
  user: User,
  sealed: string | undefined,
): Enrolment | undefined {
  if (!sealed || sealed.length > 1024) return undefined;
  try {
    const body = JSON.parse(unseal(ctx.config.secret, ENROLMENT_PURPOSE, sealed)) as {
      u: unknown;
      s: unknown;
      e: unknown;
    };
    if (body.u !== user.id || typeof body.s !== 'string' || typeof body.e !== 'number') {
      return undefined;
    }
    return body.e > nowSeconds(ctx) ? enrolmentOf(ctx, user, body.s, sealed) : undefined;
  } catch {
    return undefined;
  }
}

/** A six-digit code as typed, spaces allowed ("123 456"); undefined when it is not one. */
export function totpCodeOf(typed: string): string | undefined {
  const code = typed.replace(/\s/g, '');
  return /^\d{6}$/.test(code) ? code : undefined;
}

/** The time step `code` belongs to within ±1 step of now (and after `after`), or undefined. */
async function matchingStep(
  ctx: AppContext,
  secret: string,
  code: string,
  after?: number,
): Promise<number | undefined> {
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: nowSeconds(ctx),
      period: TOTP_PERIOD,
      // ±30 s around now reaches exactly the previous and the next step: a phone's clock a little
      // off, or a code typed as it changed.
      epochTolerance: TOTP_PERIOD,
      ...(after !== undefined ? { afterTimeStep: after } : {}),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `check` within the second-factor limit of `user`'s account. */
async function withinLimit(
  ctx: AppContext,
  user: User,
  check: () => Promise<CodeCheck>,
  otherwise?: () => Promise<boolean>,
): Promise<CodeCheck> {
  const attempt = await ctx.throttle.secondFactor.begin(user.id);
  if ('refusedFor' in attempt)
    return { ok: false, reason: 'locked', lockedFor: attempt.refusedFor };
  const checked = await check();
  if (checked.ok) {
    await attempt.succeeded();
    return checked;
  }
  if (otherwise && (await otherwise())) {
    await attempt.forgiven();
    return { ok: false, reason: 'wrong', lockedFor: 0 };
  }
  return { ...checked, lockedFor: await attempt.failed() };
}

/**
 * Checks a second-factor code of `user`: a code from their app (each time step once: the same
 * code twice, or an older one after a newer, is refused), or with `recovery`, one of their
 * recovery codes (each once). Within the second-factor limit. `otherwise` is what else the
 * text may be (the password, shaped like a recovery code): when it holds, the wrong code is
 * not counted.
 */
export function checkSecondFactor(
  ctx: AppContext,
  user: User,
  typed: string,
  options: { recovery: boolean; otherwise?: () => Promise<boolean> },
): Promise<CodeCheck> {
  return withinLimit(
    ctx,
    user,
    async () => {
      const enrolment = await ctx.store.totp.find(user.id);
      if (!enrolment) return { ok: false, reason: 'wrong', lockedFor: 0 };
      const code = totpCodeOf(typed);
      if (code) return acceptTotp(ctx, enrolment, code);
      const recovery = options.recovery ? normaliseRecoveryCode(typed) : undefined;
      if (
        recovery &&
        (await ctx.store.totp.useRecoveryCode(
          user.id,
          recoveryCodeHash(ctx.config.secret, user.id, recovery),
          nowSeconds(ctx),
        ))
      ) {
        return { ok: true, kind: 'recovery' };
      }
      return { ok: false, reason: 'wrong', lockedFor: 0 };
    },
    options.otherwise,
  );
}

async function acceptTotp(
  ctx: AppContext,
  enrolment: TotpEnrolment,
  code: string,
): Promise<CodeCheck> {
  const secret = unseal(ctx.config.secret, SECRET_PURPOSE, enrolment.secretSealed);
  const step = await matchingStep(ctx, secret, code);
  if (step === undefined) return { ok: false, reason: 'wrong', lockedFor: 0 };
  // The conditional UPDATE decides, not the enrolment read above: of concurrent submissions of
  // one code, one is accepted.
  if (!(await ctx.store.totp.acceptStep(enrolment.userId, step))) {
    return { ok: false, reason: 'reused', lockedFor: 0 };
  }
  return { ok: true, kind: 'totp' };
}

export type EnrolmentResult =
  | { ok: true; recoveryCodes: string[] }
  | { ok: false; reason: CodeRefusal | 'locked'; lockedFor: number }
  | { ok: false; reason: 'already_on'; lockedFor: 0 };

/**
 * Turns TOTP on for `user` when `typed` is a right code of the enrolment's secret (within the
 * second-factor limit): the secret is stored sealed, with ten new recovery codes (returned, to
 * be shown once), the code's time step counts as used, and `two_factor` follows.
 */
export async function confirmEnrolment(
  ctx: AppContext,
  user: User,
  enrolment: Enrolment,
  typed: string,
  origin: EventOrigin,
): Promise<EnrolmentResult> {
  // Before the code is checked: a right code would start the count of wrong ones again, and
  // an enrolment opened before TOTP was on must not be a way to do that.
  if (await ctx.store.totp.find(user.id)) return { ok: false, reason: 'already_on', lockedFor: 0 };
  let step: number | undefined;
  const checked = await withinLimit(ctx, user, async () => {
    const code = totpCodeOf(typed);
    step = code ? await matchingStep(ctx, enrolment.secret, code) : undefined;
    return step === undefined
      ? { ok: false, reason: 'wrong', lockedFor: 0 }
      : { ok: true, kind: 'totp' };
  });
  if (!checked.ok) return checked;
  const recoveryCodes = newRecoveryCodes();
  const enabled = await ctx.store.totp.enable(
    {
      userId: user.id,
      secretSealed: seal(ctx.config.secret, SECRET_PURPOSE, enrolment.secret),
      enabledAt: nowSeconds(ctx),
      lastStep: step!,
    },
    hashesOf(ctx, user, recoveryCodes),
  );
  if (!enabled) return { ok: false, reason: 'already_on', lockedFor: 0 };
  await refreshTwoFactor(ctx, user, origin);
  return { ok: true, recoveryCodes };
}

function hashesOf(ctx: AppContext, user: User, codes: string[]): string[] {
  return codes.map((code) =>
    recoveryCodeHash(ctx.config.secret, user.id, normaliseRecoveryCode(code)!),
  );
}

/** Turns TOTP off for `user` (the caller checked the password or a code); `two_factor` follows. */
export async function turnOffTotp(
  ctx: AppContext,
  user: User,
  origin: EventOrigin,
): Promise<boolean> {
  const removed = await ctx.store.totp.disable(user.id);
  if (removed) await refreshTwoFactor(ctx, user, origin);
  return removed;
}

/** Ten new recovery codes for `user` in place of every old one; recorded and mailed as a security event. */
export async function regenerateRecoveryCodes(
  ctx: AppContext,
  user: User,
  origin: EventOrigin,
): Promise<string[]> {
  const codes = newRecoveryCodes();
  await ctx.store.totp.replaceRecoveryCodes(user.id, hashesOf(ctx, user, codes), nowSeconds(ctx));
  await recordSecurityEvent(ctx, user, 'recovery_codes_regenerated', origin);
  return codes;
}
