import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../context.js';
import { sendVerification } from '../domain/email-verification.js';
import { TooManyAttempts, ValidationError } from '../domain/errors.js';
import { LIMITS, registerUser } from '../domain/users.js';
import { type ErrorBody, statusOf } from '../error-catalogue.js';
import type { User } from '../store/types.js';

/*
 * POST /api/users: self-registration for apps that bring their own sign-up
 * form (seed 002's register_user). Field names follow OpenID Connect; seed
 * 002's `firstname`, `lastname` and `phone` are accepted as aliases.
 */

/** Seed 002's names for the OpenID Connect fields. */
const ALIASES = {
  given_name: 'firstname',
  family_name: 'lastname',
  phone_number: 'phone',
} as const;

const name = () => Type.Optional(Type.String({ maxLength: LIMITS.name }));
const phone = () => Type.Optional(Type.String({ maxLength: LIMITS.phone }));

/**
 * The body. The lengths here refuse an over-long field before any work is
 * done; the finer rules (characters, e-mail shape) are the domain's. Other
 * properties are allowed and ignored, so clients may send more than we use.
 */
export const RegisterUserBody = Type.Object(
  {
    username: Type.String({ maxLength: LIMITS.username.max }),
    email: Type.String({ maxLength: LIMITS.email }),
    password: Type.String({ maxLength: LIMITS.password.max }),
    given_name: name(),
    family_name: name(),
    phone_number: phone(),
    firstname: name(),
    lastname: name(),
    phone: phone(),
  },
  { additionalProperties: true },
);
export type RegisterUserBody = Static<typeof RegisterUserBody>;

/** What the API says about an account: never the password hash. */
export const UserResponse = Type.Object({
  id: Type.String(),
  sub: Type.String(),
  username: Type.String(),
  email: Type.String(),
  given_name: Type.Union([Type.String(), Type.Null()]),
  family_name: Type.Union([Type.String(), Type.Null()]),
  phone_number: Type.Union([Type.String(), Type.Null()]),
  email_verified: Type.Boolean(),
});
export type UserResponse = Static<typeof UserResponse>;

export function userResponse(user: User): UserResponse {
  return {
    id: user.id,
    sub: user.id,
    username: user.username,
    email: user.email,
    given_name: user.givenName,
    family_name: user.familyName,
    phone_number: user.phoneNumber,
    email_verified: user.emailVerified,
  };
}

/** A field under its OpenID Connect name or its seed 002 alias; both at once must agree. */
function pick(body: RegisterUserBody, field: keyof typeof ALIASES): string | undefined {
  const alias = ALIASES[field];
  const value = body[field];
  const aliased = body[alias];
  if (value !== undefined && aliased !== undefined && value !== aliased) {
    throw new ValidationError(field, `send ${field} or ${alias}, not both with different values`);
  }
  return value ?? aliased;
}

class UnsupportedMediaType extends Error {
  readonly statusCode = 415;
  constructor() {
    super('POST /api/users takes a JSON body: send Content-Type: application/json');
    this.name = 'UnsupportedMediaType';
  }
}

/** Refused before the body is read: sign-up turned off, not JSON, or too many sign-ups from the address. */
function gate(ctx: AppContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!ctx.config.signupEnabled) {
      const body: ErrorBody = {
        error: 'forbidden',
        error_description: 'self sign-up is turned off',
      };
      return reply.code(statusOf('forbidden')).header('cache-control', 'no-store').send(body);
    }
    // Forms are parsed app-wide for the pages; this endpoint takes JSON only.
    const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') throw new UnsupportedMediaType();
    // Counted with the sign-up page's attempts (TESSERA_SIGNUP_MAX_PER_IP).
    const wait = await ctx.throttle.signUp(request.ip);
    if (wait > 0) {
      throw new TooManyAttempts(
        wait,
        `too many sign-ups from this address: try again in ${wait} seconds`,
      );
    }
  };
}

export function registerUserApi(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/users',
    {
      onRequest: gate(ctx),
      schema: { body: RegisterUserBody, response: { 201: UserResponse } },
    },
    async (request, reply) => {
      const body = request.body;
      let user: User;
      try {
        user = await registerUser(ctx, {
          username: body.username,
          email: body.email,
          password: body.password,
          givenName: pick(body, 'given_name') ?? null,
          familyName: pick(body, 'family_name') ?? null,
          phoneNumber: pick(body, 'phone_number') ?? null,
          origin: { via: 'api', ip: request.ip },
        });
      } catch (error) {
        // Name the field as the client sent it.
        if (error instanceof ValidationError && error.field in ALIASES) {
          const field = error.field as keyof typeof ALIASES;
          const alias = ALIASES[field];
          if (body[field] === undefined && body[alias] !== undefined) {
            throw new ValidationError(alias, error.message.replace(field, alias));
          }
        }
        throw error;
      }
      // A code and a link for /verify-email; an app of its own verifies with POST /api/otp/send and /verify.
      await sendVerification(ctx, user, user.email);
      return reply.code(201).header('cache-control', 'no-store').send(userResponse(user));
    },
  );
}
