import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import {
  issueInitialToken,
  listInitialTokens,
  MAX_INITIAL_TOKEN_LIFETIME,
  MAX_INITIAL_TOKEN_USES,
  revokeInitialToken,
} from '../domain/registration-tokens.js';
import type { InitialAccessToken } from '../store/types.js';
import { requireAdmin } from './auth.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });
const CreateBody = Type.Object(
  {
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INITIAL_TOKEN_LIFETIME })),
    uses: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INITIAL_TOKEN_USES })),
  },
  { additionalProperties: false },
);

/** An initial access token as the admin API shows it: never the token or its hash. */
function tokenView(token: InitialAccessToken): Record<string, unknown> {
  return {
    id: token.id,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    uses_left: token.usesLeft,
  };
}

/**
 * Initial access tokens for dynamic client registration (TESSERA_REGISTRATION=token,
 * docs/registration.md): issued, listed and revoked by an admin.
 */
export function registerRegistrationTokenAdmin(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const onRequest = requireAdmin(ctx);

  api.post(
    '/admin/api/registration-tokens',
    { onRequest, schema: { body: Type.Optional(CreateBody) } },
    async (request, reply) => {
      const body = request.body ?? {};
      const { record, token } = await issueInitialToken(ctx, {
        ...(body.expires_in !== undefined ? { expiresIn: body.expires_in } : {}),
        ...(body.uses !== undefined ? { uses: body.uses } : {}),
      });
      return reply.code(201).send({ ...tokenView(record), token });
    },
  );

  api.get('/admin/api/registration-tokens', { onRequest }, async () => {
    const tokens = await listInitialTokens(ctx);
    return { registration_tokens: tokens.map(tokenView), total: tokens.length };
  });

  api.delete(
    '/admin/api/registration-tokens/:id',
    { onRequest, schema: { params: IdParams } },
    async (request, reply) => {
      await revokeInitialToken(ctx, request.params.id);
      return reply.code(204).send();
    },
  );
}
