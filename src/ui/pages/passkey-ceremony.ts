import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { CEREMONY_SECONDS, type Ceremony } from '../../domain/webauthn-ceremony.js';
import { cookieOptions } from '../../http/cookies.js';
import { seal, unseal } from '../../lib/seal.js';

/**
 * The passkey ceremony under way in this browser: its challenge and whom it is for, sealed
 * (unreadable, unforgeable) for CEREMONY_SECONDS. The domain spends the challenge once in the
 * markers store, so a copy of the cookie is worth nothing after the first response.
 */
export const CEREMONY_COOKIE = 'tessera_webauthn';

const PURPOSE = 'webauthn-ceremony';

/** A ceremony as held in the browser: for a registration, also the session that re-authenticated. */
export type HeldCeremony = Ceremony & { sessionId?: string };

export function holdCeremony(ctx: AppContext, reply: FastifyReply, ceremony: HeldCeremony): void {
  reply.setCookie(
    CEREMONY_COOKIE,
    seal(ctx.config.secret, PURPOSE, JSON.stringify(ceremony)),
    cookieOptions(ctx, CEREMONY_SECONDS),
  );
}

/** The ceremony of this browser, cleared from it (it serves one response); undefined if none or altered. */
export function takeCeremony(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
): HeldCeremony | undefined {
  const sealed = request.cookies[CEREMONY_COOKIE];
  if (!sealed) return undefined;
  reply.clearCookie(CEREMONY_COOKIE, cookieOptions(ctx));
  if (sealed.length > 2048) return undefined;
  try {
    return JSON.parse(unseal(ctx.config.secret, PURPOSE, sealed)) as HeldCeremony;
  } catch {
    return undefined;
  }
}
