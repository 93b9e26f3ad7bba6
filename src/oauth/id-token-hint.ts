import type { AppContext } from '../context.js';

/**
 * The claims of an `id_token_hint` if it is an ID token this server signed, expired or not
 * (a hint only says who; OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2). Our access
 * tokens (`at+jwt`) and logout tokens (`logout+jwt`) are signed with the same keys and name the
 * same person: the `typ` keeps them from passing as one.
 */
export async function readIdTokenHint(
  ctx: AppContext,
  hint: string,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  const verified = await ctx.keys.verify(hint);
  if (verified?.header.typ !== 'JWT') return undefined;
  const claims = verified.payload;
  if (claims.iss !== ctx.config.issuer || typeof claims.sub !== 'string') return undefined;
  return claims;
}
