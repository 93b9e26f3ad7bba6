import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../context.js';
import { type ApiInput, createApi, deleteApi, listApis, updateApi } from '../domain/apis.js';
import { NotFoundError } from '../domain/errors.js';
import type { Api } from '../store/types.js';
import { requireAdmin } from './auth.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

/** The fields an API is created or updated with; the domain checks their values. */
const ApiBody = Type.Object(
  {
    identifier: Type.Optional(Type.String({ maxLength: 2048 })),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    // A space-separated string, as clients' `scope`, or a list.
    scopes: Type.Optional(
      Type.Union([
        Type.String({ maxLength: 10_000 }),
        Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 }),
      ]),
    ),
    // Checked by the domain: Ajv's type coercion would turn 0 into null, or null into 0.
    access_token_format: Type.Optional(Type.Unknown()),
    access_token_ttl: Type.Optional(Type.Unknown()),
    open_to_self_registered: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

function apiInput(body: Static<typeof ApiBody>): ApiInput {
  const input: ApiInput = {};
  if (body.identifier !== undefined) input.identifier = body.identifier;
  if (body.name !== undefined) input.name = body.name;
  if (body.scopes !== undefined) {
    input.scopes =
      typeof body.scopes === 'string' ? body.scopes.split(' ').filter(Boolean) : body.scopes;
  }
  if (body.access_token_format !== undefined)
    input.accessTokenFormat = body.access_token_format as string | null;
  if (body.access_token_ttl !== undefined)
    input.accessTokenTtl = body.access_token_ttl as number | null;
  if (body.open_to_self_registered !== undefined)
    input.openToSelfRegistered = body.open_to_self_registered;
  return input;
}

/** An API as the admin API and the CLI show it; never its client's secret. */
export function apiView(api: Api): Record<string, unknown> {
  return {
    id: api.id,
    identifier: api.identifier,
    name: api.name,
    scopes: api.scopes,
    access_token_format: api.accessTokenFormat,
    access_token_ttl: api.accessTokenTtl,
    open_to_self_registered: api.openToSelfRegistered,
    // What it authenticates with at /introspect (its secret was shown once, at creation).
    client_id: api.clientId,
    created_at: api.createdAt,
    updated_at: api.updatedAt,
  };
}

/** APIs (resource servers): create, list, read, update, delete (docs/apis.md). */
export function registerApiAdmin(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const onRequest = requireAdmin(ctx);

  api.post('/admin/api/apis', { onRequest, schema: { body: ApiBody } }, async (request, reply) => {
    const made = await createApi(ctx, apiInput(request.body));
    return reply.code(201).send({ ...apiView(made.api), client_secret: made.secret });
  });

  api.get('/admin/api/apis', { onRequest }, async () => {
    const apis = await listApis(ctx);
    return { apis: apis.map(apiView), total: apis.length };
  });

  api.get('/admin/api/apis/:id', { onRequest, schema: { params: IdParams } }, async (request) => {
    const found = await ctx.store.apis.findById(request.params.id);
    if (!found) throw new NotFoundError('api');
    return apiView(found);
  });

  api.patch(
    '/admin/api/apis/:id',
    { onRequest, schema: { params: IdParams, body: ApiBody } },
    async (request) => apiView(await updateApi(ctx, request.params.id, apiInput(request.body))),
  );

  api.delete(
    '/admin/api/apis/:id',
    { onRequest, schema: { params: IdParams } },
    async (request, reply) => {
      await deleteApi(ctx, request.params.id);
      return reply.code(204).send();
    },
  );
}
