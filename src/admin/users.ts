import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { NotFoundError } from '../domain/errors.js';
import { identitiesOf, linkIdentity, unlinkIdentity } from '../domain/external-identities.js';
import { setPassword } from '../domain/password-change.js';
import { turnOffTotp } from '../domain/totp.js';
import { deleteUser, setRole } from '../domain/user-changes.js';
import { LIMITS, registerUser } from '../domain/users.js';
import type { ExternalIdentity, User } from '../store/types.js';
import { requireAdmin } from './auth.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });
/**
 * Every integer a request carries has a maximum: an unbounded one let `offset=1e308` reach the
 * database (a 500 on both). 2^31 - 1 fits every integer type of both databases and is far past
 * any number of accounts.
 */
const MAX_OFFSET = 2_147_483_647;
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
  q: Type.Optional(Type.String({ maxLength: 254 })),
});
// An enum rather than a union of literals, so a wrong role is answered with the allowed values.
const RoleBody = Type.Object({ role: Type.Enum(['user', 'admin']) });
// The lengths refuse an over-long field before any work; the rules are the domain's, as at sign-up.
const password = () => Type.String({ maxLength: LIMITS.password.max });
const CreateBody = Type.Object({
  username: Type.String({ maxLength: LIMITS.username.max }),
  email: Type.String({ maxLength: LIMITS.email }),
  password: password(),
  given_name: Type.Optional(Type.String({ maxLength: LIMITS.name })),
  family_name: Type.Optional(Type.String({ maxLength: LIMITS.name })),
  phone_number: Type.Optional(Type.String({ maxLength: LIMITS.phone })),
  role: Type.Optional(Type.Enum(['user', 'admin'])),
  email_verified: Type.Optional(Type.Boolean()),
});
const PasswordBody = Type.Object({ password: password() });
const IdentityBody = Type.Object({
  issuer: Type.String({ maxLength: 2048 }),
  subject: Type.String({ maxLength: 2048 }),
});

/** A linked account at a trusted issuer, in the names of the ID token's claims it matches. */
const identityView = (identity: ExternalIdentity) => ({
  issuer: identity.issuer,
  subject: identity.subject,
  created_at: identity.createdAt,
});

/** A person as admins see them: never the password hash. */
function userView(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    email_verified: user.emailVerified,
    given_name: user.givenName,
    family_name: user.familyName,
    phone_number: user.phoneNumber,
    role: user.role,
    two_factor: user.twoFactor,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

/** People: seed 004's all-users-data and assign-role, plus read and delete. */
export function registerUserAdmin(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const onRequest = requireAdmin(ctx);

  api.get(
    '/admin/api/users',
    { onRequest, schema: { querystring: ListQuery } },
    async (request) => {
      const { limit = 50, offset = 0, q } = request.query;
      const [users, total] = await Promise.all([
        ctx.store.users.list({ limit, offset, ...(q ? { search: q } : {}) }),
        ctx.store.users.count(q || undefined),
      ]);
      return { users: users.map(userView), total, limit, offset };
    },
  );

  // Creates a person with the rules of the sign-up page; the password is never answered back.
  api.post(
    '/admin/api/users',
    { onRequest, schema: { body: CreateBody } },
    async (request, reply) => {
      const body = request.body;
      const user = await registerUser(ctx, {
        username: body.username,
        email: body.email,
        password: body.password,
        givenName: body.given_name ?? null,
        familyName: body.family_name ?? null,
        phoneNumber: body.phone_number ?? null,
        role: body.role ?? 'user',
        emailVerified: body.email_verified ?? false,
        origin: { via: 'admin', ip: request.ip },
      });
      return reply.code(201).send(userView(user));
    },
  );

  api.get('/admin/api/users/:id', { onRequest, schema: { params: IdParams } }, async (request) => {
    const user = await ctx.store.users.findById(request.params.id);
    if (!user) throw new NotFoundError('user');
    return userView(user);
  });

  api.patch(
    '/admin/api/users/:id/role',
    { onRequest, schema: { params: IdParams, body: RoleBody } },
    async (request) => {
      const user = await setRole(ctx, request.params.id, request.body.role, {
        by: 'admin',
        ip: request.ip,
      });
      return userView(user);
    },
  );

  // Sets a person's password (forgotten, or handed over) and signs them out everywhere.
  api.post(
    '/admin/api/users/:id/password',
    { onRequest, schema: { params: IdParams, body: PasswordBody } },
    async (request) => {
      const user = await ctx.store.users.findById(request.params.id);
      if (!user) throw new NotFoundError('user');
      const { sessionsEnded } = await setPassword(ctx, user, request.body.password, {
        by: 'admin',
        ip: request.ip,
      });
      return { id: user.id, username: user.username, sessions_ended: sessionsEnded };
    },
  );

  // A person who lost their authenticator app and their recovery codes: the app is removed (and
  // its recovery codes), so that the password alone signs them in until they set up a new one.
  api.delete(
    '/admin/api/users/:id/totp',
    { onRequest, schema: { params: IdParams } },
    async (request) => {
      const user = await ctx.store.users.findById(request.params.id);
      if (!user) throw new NotFoundError('user');
      const removed = await turnOffTotp(ctx, user, { ip: request.ip, device: null });
      const after = await ctx.store.users.findById(user.id);
      return {
        id: user.id,
        username: user.username,
        totp_removed: removed,
        two_factor: after?.twoFactor ?? false,
      };
    },
  );

  // Token exchange: the person's accounts at trusted issuers, whose ID tokens stand for them here.
  api.get(
    '/admin/api/users/:id/identities',
    { onRequest, schema: { params: IdParams } },
    async (request) => ({
      identities: (await identitiesOf(ctx, request.params.id)).map(identityView),
    }),
  );

  api.post(
    '/admin/api/users/:id/identities',
    { onRequest, schema: { params: IdParams, body: IdentityBody } },
    async (request, reply) => {
      const identity = await linkIdentity(ctx, request.params.id, request.body, {
        by: 'admin',
        ip: request.ip,
      });
      return reply.code(201).send(identityView(identity));
    },
  );

  // The identity is named in the body: an issuer URL and a subject do not fit a path segment.
  api.delete(
    '/admin/api/users/:id/identities',
    { onRequest, schema: { params: IdParams, body: IdentityBody } },
    async (request, reply) => {
      await unlinkIdentity(ctx, request.params.id, request.body, { by: 'admin', ip: request.ip });
      return reply.code(204).send();
    },
  );

  api.delete(
    '/admin/api/users/:id',
    { onRequest, schema: { params: IdParams } },
    async (request, reply) => {
      const user = await ctx.store.users.findById(request.params.id);
      if (!user) throw new NotFoundError('user');
      await deleteUser(ctx, user, { by: 'admin', ip: request.ip });
      return reply.code(204).send();
    },
  );
}
