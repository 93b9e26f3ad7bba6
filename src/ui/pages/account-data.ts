import { type AppContext, nowSeconds } from '../../context.js';
import type { SignedIn } from '../../http/session.js';
import { browserName } from '../../lib/browser-name.js';
import type { Client } from '../../store/types.js';
import type { PageData } from '../render.js';
import { recentlySignedIn } from './confirm-identity.js';
import { formatTime } from './format-time.js';
import type { FormError } from './messages.js';
import { type SecurityActivityView, securityActivity } from './security-activity.js';

/** The profile as the account page shows it. */
export interface ProfileView {
  username: string;
  email: string;
  emailVerified: boolean;
  /** A new address waiting to be verified. */
  pendingEmail: string | null;
  givenName: string | null;
  familyName: string | null;
  phoneNumber: string | null;
  role: string;
  twoFactor: boolean;
}

/** One row of "Connected apps": a grant with its client's name. */
export interface AccountGrantView {
  id: string;
  clientName: string;
  /**
   * How the app came to be, when not by an admin: "registered itself" (dynamic registration), or
   * the host of its Client ID Metadata Document. Such an app names itself: the person should know.
   */
  clientOrigin: string | null;
  scopes: string[];
  /** The APIs (identifiers) the person allowed the app to reach. */
  apis: string[];
  /** Already formatted for display, e.g. "2025-01-31 14:05 UTC". */
  grantedAt: string;
  lastUsedAt: string | null;
}

/** One row of "Sessions": a browser signed in to this account. */
export interface AccountSessionView {
  id: string;
  /** The session of the browser looking at the page. */
  current: boolean;
  /** The browser and its system, e.g. "Chrome on Linux" (see browserName). */
  browser: string;
  ip: string | null;
  startedAt: string;
  lastSeenAt: string;
}

/** One row of "Passkeys". */
export interface AccountPasskeyView {
  id: string;
  name: string;
  /** "Synced" (a passkey in a cloud keychain) or "This device only". */
  kind: string;
  addedAt: string;
  lastUsedAt: string | null;
}

export interface AccountPageData extends PageData {
  user: ProfileView;
  /** "Connected apps". */
  grants: AccountGrantView[];
  /** "Sessions": every active session of the person, this browser's included. */
  sessions: AccountSessionView[];
  /** "Recent security activity": the person's last security events and sign-ins, newest first. */
  activity: SecurityActivityView[];
  notice?: string;
  /** A failed "Delete account" (wrong password), shown by that form. */
  deleteError?: FormError;
  /** A failed "Change password", shown by that form; `field` is the input at fault. */
  passwordError?: FormError;
  /** "Passkeys": the person's passkeys, oldest first. */
  passkeys?: AccountPasskeyView[];
  /** A failed rename or add of a passkey, shown in the "Passkeys" section. */
  passkeyError?: FormError;
  /** The shortest new password accepted (`TESSERA_PASSWORD_MIN_LENGTH`). */
  passwordMinLength: number;
  /** "Two-factor authentication": the authenticator app, and the recovery codes not used yet. */
  totp: { on: boolean; recoveryCodesLeft: number };
  /** A failed "Turn off two-factor authentication", shown by that form. */
  totpOffError?: FormError;
  /** A failed "Get new recovery codes", shown by that form. */
  recoveryCodesError?: FormError;
  /** The sign-in is not recent: adding or removing a passkey asks for "Password or code". */
  reauthNeeded?: boolean;
}

/** What "Connected apps" says of how an app came to be; nothing for an admin's. */
export function originOf(client: Client | undefined): string | null {
  if (client?.registration === 'dynamic') return 'registered itself';
  if (client?.registration === 'metadata_document') {
    try {
      return `metadata document at ${new URL(client.id).host}`;
    } catch {
      return 'metadata document';
    }
  }
  return null;
}

export { formatTime };

/**
 * Everything the account page shows for the signed-in person. The one place
 * that gathers it, so features that add to the page add their data here.
 */
export async function accountPageData(
  ctx: AppContext,
  signedIn: SignedIn,
): Promise<AccountPageData> {
  const { user, session: current } = signedIn;
  const [grants, sessions, totp, recoveryCodesLeft, passkeys, activity] = await Promise.all([
    ctx.store.grants.listForUser(user.id),
    ctx.store.sessions.listActiveForUser(user.id, nowSeconds(ctx)),
    ctx.store.totp.find(user.id),
    ctx.store.totp.countRecoveryCodes(user.id),
    ctx.store.passkeys.listForUser(user.id),
    securityActivity(ctx, user.id),
  ]);
  return {
    reauthNeeded: !recentlySignedIn(ctx, signedIn),
    grants: await Promise.all(
      grants.map(async (g) => ({
        id: g.id,
        clientName: g.clientName,
        clientOrigin: originOf(await ctx.clients.get(g.clientId)),
        scopes: g.scopes,
        apis: g.resources,
        grantedAt: formatTime(g.createdAt),
        lastUsedAt: g.lastUsedAt === null ? null : formatTime(g.lastUsedAt),
      })),
    ),
    sessions: sessions.map((s) => ({
      id: s.id,
      current: s.id === current.id,
      browser: browserName(s.userAgent),
      ip: s.ip,
      startedAt: formatTime(s.createdAt),
      lastSeenAt: formatTime(s.lastSeenAt),
    })),
    passkeys: passkeys.map((p) => ({
      id: p.id,
      name: p.name,
      kind: p.deviceType === 'multiDevice' ? 'Synced' : 'This device only',
      addedAt: formatTime(p.createdAt),
      lastUsedAt: p.lastUsedAt === null ? null : formatTime(p.lastUsedAt),
    })),
    activity,
    title: 'Your account',
    signedInAs: user.username,
    passwordMinLength: ctx.config.passwordMinLength,
    totp: { on: totp !== undefined, recoveryCodesLeft },
    user: {
      username: user.username,
      email: user.email,
      emailVerified: user.emailVerified,
      pendingEmail: user.pendingEmail,
      givenName: user.givenName,
      familyName: user.familyName,
      phoneNumber: user.phoneNumber,
      role: user.role,
      twoFactor: user.twoFactor,
    },
  };
}
