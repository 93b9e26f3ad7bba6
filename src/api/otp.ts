import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { addressKeyOf, CODE_MINUTES, checkCode, issueCode } from '../domain/email-codes.js';
import { accountOfAddress, markVerified } from '../domain/email-verification.js';
import { TooManyAttempts, ValidationError } from '../domain/errors.js';
import { checkEmail, LIMITS } from '../domain/users.js';
import { type ErrorBody, statusOf } from '../error-catalogue.js';
import { browserName } from '../lib/browser-name.js';

/*
 * One-time codes by e-mail as a JSON API (seed 004's send-otp, resend-otp and verify-otp): a
 * 6-digit code mailed to an account's address, which proves the address when typed back.
 */

const SendBody = Type.Object(
  { email: Type.String({ maxLength: LIMITS.email }) },
  { additionalProperties: true },
);
const VerifyBody = Type.Object(
  {
    email: Type.String({ maxLength: LIMITS.email }),
    code: Type.Optional(Type.String({ maxLength: 32 })),
    /** What a seed 004 client may call it. */
    otp: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: true },
);

class UnsupportedMediaType extends Error {
  readonly statusCode = 415;
  constructor(path: string) {
    super(`POST ${path} takes a JSON body: send Content-Type: application/json`);
    this.name = 'UnsupportedMediaType';
  }
}

/** Refused before the body is read: only JSON is taken. */
async function jsonOnly(request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new UnsupportedMediaType(request.url.split('?')[0]!);
}

function refuse(
  reply: FastifyReply,
  error: 'invalid_code' | 'too_many_attempts',
  description: string,
  retryAfter?: number,
): FastifyReply {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  const body: ErrorBody = { error, error_description: description };
  return reply.code(statusOf(error)).header('cache-control', 'no-store').send(body);
}

/** The same answer whether or not the address has an account. */
const SENT = { status: 'sent', expires_in: CODE_MINUTES * 60 } as const;

export function registerOtpApi(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  const send = async (body: { email: string }, request: FastifyRequest, reply: FastifyReply) => {
    const email = checkEmail(body.email);
    const key = addressKeyOf(email);
    // The lookup and the stored code happen for every address, so that an address without an
    // account takes the same work (and answer) as one with; only the mail differs, and it is
    // queued, never waited for.
    const user = await accountOfAddress(ctx, email);
    const issued = await issueCode(ctx, 'api', key, user?.id ?? null, { ip: request.ip });
    if ('wait' in issued) {
      throw new TooManyAttempts(
        issued.wait,
        issued.byClient
          ? `too many codes were asked for from this client address: try again in ${issued.wait} seconds`
          : `a code was sent to this address recently: try again in ${issued.wait} seconds`,
      );
    }
    if (user) ctx.mail.send(email, 'otp-code', { code: issued.code, minutes: CODE_MINUTES });
    return reply.code(202).header('cache-control', 'no-store').send(SENT);
  };

  const verify = async (
    body: { email: string; code?: string; otp?: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ) => {
    const typed = body.code ?? body.otp;
    if (typed === undefined) throw new ValidationError('code', 'code is required');
    const email = checkEmail(body.email);
    const key = addressKeyOf(email);
    const checked = await checkCode(ctx, 'api', key, typed, { ip: request.ip });
    switch (checked.status) {
      case 'wrong':
        return refuse(
          reply,
          'invalid_code',
          `the code is not right: ${checked.attemptsLeft} ${checked.attemptsLeft === 1 ? 'try' : 'tries'} left`,
        );
      case 'expired':
        return refuse(reply, 'invalid_code', 'the code has expired: ask for a new one');
      case 'missing':
        return refuse(reply, 'invalid_code', 'no code is waiting for this address: ask for one');
      case 'exhausted':
        return refuse(
          reply,
          'too_many_attempts',
          `the code was tried too many times: ask for a new one in ${checked.retryAfter} seconds`,
          checked.retryAfter,
        );
      case 'locked':
        return refuse(
          reply,
          'too_many_attempts',
          `too many codes were tried: try again in ${checked.retryAfter} seconds`,
          checked.retryAfter,
        );
    }
    const user = checked.code.userId
      ? await ctx.store.users.findById(checked.code.userId)
      : undefined;
    const verified =
      user &&
      (await markVerified(ctx, user, key, {
        ip: request.ip,
        device: browserName(request.headers['user-agent'] ?? null),
      }));
    if (!verified) {
      return refuse(reply, 'invalid_code', 'no code is waiting for this address: ask for one');
    }
    return reply.code(200).header('cache-control', 'no-store').send({ verified: true });
  };

  for (const path of ['/api/otp/send', '/auth/send-otp', '/auth/resend-otp']) {
    api.post(path, { onRequest: jsonOnly, schema: { body: SendBody } }, (request, reply) =>
      send(request.body, request, reply),
    );
  }
  for (const path of ['/api/otp/verify', '/auth/verify-otp']) {
    api.post(path, { onRequest: jsonOnly, schema: { body: VerifyBody } }, (request, reply) =>
      verify(request.body, request, reply),
    );
  }
}
