import { type AppContext, nowSeconds } from '../context.js';
import { isJwsAlg, signJws } from '../lib/jws.js';
import { postFormOutbound } from '../lib/outbound.js';
import { randomId } from '../lib/random.js';
import type { Client, Session } from '../store/types.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const TIMEOUT_MS = 5_000;

/** The logout token of OpenID Connect Back-Channel Logout 1.0 §2.4. */
export function logoutToken(ctx: AppContext, client: Client, session: Session): string {
  const now = nowSeconds(ctx);
  const alg = isJwsAlg(client.idTokenSignedResponseAlg) ? client.idTokenSignedResponseAlg : 'RS256';
  const key = ctx.keys.signingKey(alg);
  return signJws(
    { alg, kid: key.kid, typ: 'logout+jwt' },
    {
      iss: ctx.config.issuer,
      aud: client.id,
      iat: now,
      exp: now + 120,
      jti: randomId(),
      sub: session.userId,
      sid: session.id,
      events: { [EVENT]: {} },
    },
    key.privateKey,
  );
}

/**
 * Tells every client that received tokens in the session, and registered a
 * backchannel_logout_uri, that the session has ended. Sent in parallel; a client
 * that fails or is slow is logged, never retried, and never blocks the sign-out
 * for more than a few seconds.
 */
export async function backchannelLogout(ctx: AppContext, session: Session): Promise<void> {
  const clientIds = await ctx.store.sessions.listClients(session.id);
  const clients = (await Promise.all(clientIds.map((id) => ctx.clients.get(id)))).filter(
    (c): c is Client => c?.backchannelLogoutUri != null,
  );
  await Promise.allSettled(
    clients.map(async (client) => {
      try {
        const status = await postFormOutbound(
          client.backchannelLogoutUri!,
          { logout_token: logoutToken(ctx, client, session) },
          // The URI must not lead into Tessera's own network (server-side request forgery): in
          // production, and always for a client nobody vetted (self-registered, a document).
          {
            timeoutMs: TIMEOUT_MS,
            externalOnly: ctx.config.nodeEnv === 'production' || client.registration !== 'admin',
            allowLoopback: ctx.config.cimdAllowLoopback,
          },
        );
        if (status < 200 || status > 299)
          ctx.log.warn({ clientId: client.id, status }, 'back-channel logout refused');
      } catch (error) {
        ctx.log.warn({ clientId: client.id, err: error }, 'back-channel logout failed');
      }
    }),
  );
}
