import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { provePasskey, secondFactorOptions, signInOptions } from '../../domain/passkey-sign-in.js';
import { checkCsrf } from '../../http/csrf.js';
import { holdCeremony, takeCeremony } from './passkey-ceremony.js';
import { passkeyFailure, readAssertion, redirectAsJson, sendError } from './passkey-json.js';
import { completePendingSignIn, readPendingSignIn } from './pending-sign-in.js';
import { safeReturnTo } from './return-to.js';
import { continueSignIn, startSignedIn } from './sign-in-flow.js';

/** The JSON endpoints end a sign-in with `{"redirect"}` where the pages answer 303. */
const JSON_SIGN_IN = { onSend: redirectAsJson };

const SIGN_IN_FAILED = 'The sign-in could not be completed: sign in again.';

/** The person a sign-in waiting for its second factor is for. */
async function pendingUser(ctx: AppContext, request: FastifyRequest) {
  const pending = readPendingSignIn(ctx, request);
  const user = pending && (await ctx.store.users.findById(pending.userId));
  return pending && user ? { pending, user } : undefined;
}

/**
 * Sign-in with a passkey (the button and conditional UI of /login), and a passkey as the second
 * factor of /login/second-factor. Each ceremony is two requests: its options, then the
 * credential the browser made with them.
 */
export function registerLoginPasskey(app: FastifyInstance, ctx: AppContext): void {
  app.post('/login/passkey/options', async (request, reply) => {
    checkCsrf(ctx, request);
    const { options, ceremony } = await signInOptions(ctx);
    holdCeremony(ctx, reply, ceremony);
    return reply.header('cache-control', 'no-store').send(options);
  });

  app.post('/login/passkey', JSON_SIGN_IN, async (request, reply) => {
    checkCsrf(ctx, request);
    const ceremony = takeCeremony(ctx, request, reply);
    try {
      const proof = await provePasskey(ctx, ceremony, readAssertion(request.body));
      const returnTo = safeReturnTo((request.body as Record<string, unknown>).return_to);
      // The passkey verified the person (sign-in requires it): amr has 'mfa', no second step.
      const next = await continueSignIn(ctx, request, reply, {
        user: proof.user,
        amr: proof.amr,
        returnTo,
      });
      return next ?? sendError(reply, 400, 'invalid_passkey', SIGN_IN_FAILED);
    } catch (error) {
      return passkeyFailure(reply, error);
    }
  });

  app.post('/login/second-factor/passkey/options', async (request, reply) => {
    checkCsrf(ctx, request);
    const waiting = await pendingUser(ctx, request);
    if (!waiting) return sendError(reply, 401, 'invalid_passkey', SIGN_IN_FAILED);
    try {
      const { options, ceremony } = await secondFactorOptions(ctx, waiting.user);
      holdCeremony(ctx, reply, ceremony);
      return reply.header('cache-control', 'no-store').send(options);
    } catch (error) {
      return passkeyFailure(reply, error);
    }
  });

  app.post('/login/second-factor/passkey', JSON_SIGN_IN, async (request, reply) => {
    checkCsrf(ctx, request);
    const ceremony = takeCeremony(ctx, request, reply);
    const waiting = await pendingUser(ctx, request);
    if (!waiting) return sendError(reply, 401, 'invalid_passkey', SIGN_IN_FAILED);
    const { pending, user } = waiting;
    try {
      const proof = await provePasskey(ctx, ceremony, readAssertion(request.body), user);
      const method = proof.amr[0]!;
      const amr = [...new Set([...pending.amr, method, 'mfa'])];
      // Once: a copy of the cookie, replayed after this, starts no second session.
      if (!(await completePendingSignIn(ctx, reply, pending))) {
        return sendError(reply, 401, 'invalid_passkey', SIGN_IN_FAILED);
      }
      // Only while the password checked at the first step is still theirs.
      const next = await startSignedIn(ctx, request, reply, {
        user,
        amr,
        ...(pending.passwordHash ? { guard: { passwordHash: pending.passwordHash } } : {}),
        returnTo: pending.returnTo,
      });
      return next ?? sendError(reply, 400, 'invalid_passkey', SIGN_IN_FAILED);
    } catch (error) {
      return passkeyFailure(reply, error);
    }
  });
}
