import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import {
  addPasskey,
  checkPasskeyName,
  registrationOptions,
  removePasskey,
  renamePasskey,
} from '../../domain/passkeys.js';
import type { EventOrigin } from '../../domain/security-events.js';
import { checkCsrf } from '../../http/csrf.js';
import { currentUser } from '../../http/session.js';
import { browserName } from '../../lib/browser-name.js';
import { showAccount } from './account.js';
import { reauthenticate, reauthRetryAfter } from './confirm-identity.js';
import { readForm } from './form.js';
import { holdCeremony, takeCeremony } from './passkey-ceremony.js';
import { passkeyFailure, readRegistration, sendError } from './passkey-json.js';
import { requireSignIn } from './require-sign-in.js';

const NOT_SIGNED_IN = 'Sign in to manage your passkeys.';

export function eventOrigin(request: FastifyRequest): EventOrigin {
  return { ip: request.ip, device: browserName(request.headers['user-agent'] ?? null) };
}

/**
 * The "Passkeys" section of /account: adding one (two JSON requests from assets/passkeys.js, as
 * WebAuthn needs the browser's API), renaming and removing one (plain forms). Adding and
 * removing change how the person signs in: they need a recent sign-in or the "Password or
 * code" field (confirm-identity.ts); renaming needs only the session. The person is told by
 * mail, and the change is in their security events.
 */
export function registerAccountPasskeys(app: FastifyInstance, ctx: AppContext): void {
  app.post('/account/passkeys/options', async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await currentUser(ctx, request);
    if (!signedIn) return sendError(reply, 401, 'invalid_passkey', NOT_SIGNED_IN);
    // Before any options: a session alone (maybe stolen) must not add a passkey.
    const confirm = (request.body as Record<string, unknown> | undefined)?.confirm;
    const reauth = await reauthenticate(
      ctx,
      signedIn,
      typeof confirm === 'string' ? confirm : undefined,
      request.ip,
      'add_passkey',
      'No passkey was added.',
    );
    if (!reauth.ok) {
      reauthRetryAfter(reply, reauth);
      return sendError(
        reply,
        reauth.status,
        'reauthentication_required',
        reauth.message,
        'confirm',
      );
    }
    const { options, ceremony } = await registrationOptions(ctx, signedIn.user);
    // Bound to this session: the ceremony is worth nothing to another one.
    holdCeremony(ctx, reply, { ...ceremony, sessionId: signedIn.session.id });
    return reply.header('cache-control', 'no-store').send(options);
  });

  app.post('/account/passkeys', async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await currentUser(ctx, request);
    // The form without its script (JavaScript off): say what is needed, on the page.
    if (!request.headers['content-type']?.startsWith('application/json')) {
      if (!signedIn) return requireSignIn(ctx, request, reply, '/account').then(() => reply);
      const message = 'Adding a passkey needs JavaScript: turn it on and try again.';
      return showAccount(ctx, request, reply, signedIn, { passkeyError: { message } }, 400);
    }
    if (!signedIn) return sendError(reply, 401, 'invalid_passkey', NOT_SIGNED_IN);
    const taken = takeCeremony(ctx, request, reply);
    // Only a ceremony begun by this session, after its re-authentication, may add a passkey.
    const ceremony = taken?.sessionId === signedIn.session.id ? taken : undefined;
    try {
      const name = checkPasskeyName((request.body as Record<string, unknown>).name);
      const credential = readRegistration(request.body);
      const passkey = await addPasskey(
        ctx,
        signedIn.user,
        ceremony,
        credential,
        name,
        eventOrigin(request),
      );
      return reply.header('cache-control', 'no-store').send({
        id: passkey.id,
        name: passkey.name,
        redirect: `${ctx.config.issuerPath}/account?notice=passkey-added`,
      });
    } catch (error) {
      if (error instanceof ValidationError) {
        return sendError(reply, 400, 'invalid_request', error.message, error.field);
      }
      return passkeyFailure(reply, error);
    }
  });

  app.post('/account/passkeys/rename', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const form = readForm(request, ['id', 'name'] as const);
    let name: string;
    try {
      name = checkPasskeyName(form.name);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const passkeyError = { message: error.message, field: 'name' };
      return showAccount(ctx, request, reply, signedIn, { passkeyError }, 400);
    }
    if (!form.id || !(await renamePasskey(ctx, signedIn.user, form.id, name))) {
      throw new NotFoundError('passkey');
    }
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=passkey-renamed`, 303);
  });

  app.post('/account/passkeys/remove', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const { id, confirmation } = readForm(request, ['id', 'confirmation'] as const);
    const reauth = await reauthenticate(
      ctx,
      signedIn,
      confirmation,
      request.ip,
      'remove_passkey',
      'Your passkey was not removed.',
    );
    if (!reauth.ok) {
      reauthRetryAfter(reply, reauth);
      const passkeyError = { message: reauth.message, field: 'confirmation' };
      return showAccount(ctx, request, reply, signedIn, { passkeyError }, reauth.status);
    }
    if (!id || !(await removePasskey(ctx, signedIn.user, id, eventOrigin(request)))) {
      throw new NotFoundError('passkey');
    }
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=passkey-removed`, 303);
  });
}
