import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { type AppContext, nowSeconds } from '../context.js';
import { NotFoundError } from '../domain/errors.js';
import { endSessionsOfUser } from '../domain/sessions.js';
import type { User } from '../store/types.js';
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

  api.get('/admin/api/users/:id', { onRequest, schema: { params: IdParams } }, async (request) => {
    const user = await ctx.store.users.findById(request.params.id);
    if (!user) throw new NotFoundError('user');
    return userView(user);
  });

  api.patch(
    '/admin/api/users/:id/role',
    { onRequest, schema: { params: IdParams, body: RoleBody } },
    async (request) => {
      const user = await ctx.store.users.update(
        request.params.id,
        { role: request.body.role },
        nowSeconds(ctx),
      );
      if (!user) throw new NotFoundError('user');
      await ctx.store.audit.record({
        type: 'user.role_changed',
        userId: user.id,
        clientId: null,
        ip: request.ip,
        details: { role: user.role },
        createdAt: nowSeconds(ctx),
      });
      return userView(user);
    },
  );

  api.delete(
    '/admin/api/users/:id',
    { onRequest, schema: { params: IdParams } },
    async (request, reply) => {
      const user = await ctx.store.users.findById(request.params.id);
      if (!user) throw new NotFoundError('user');
      await endSessionsOfUser(ctx, user.id);
      await ctx.store.users.delete(user.id);
      return reply.code(204).send();
    },
  );
}
