import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { createClient, deleteClient, rotateClientSecret, updateClient } from '../domain/clients.js';
import { NotFoundError } from '../domain/errors.js';
import { requireAdmin } from './auth.js';
import { ClientBody, clientInput, clientView, clientWithSecret } from './wire.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

/** Client registration and management (issue 2 point 5; seed 003's /clients/register and reload). */
export function registerClientAdmin(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const onRequest = requireAdmin(ctx);

  api.post(
    '/admin/api/clients',
    { onRequest, schema: { body: ClientBody } },
    async (request, reply) => {
      const { client, secret } = await createClient(ctx, clientInput(request.body));
      return reply.code(201).send({ success: true, ...clientWithSecret(client, secret) });
    },
  );

  api.get('/admin/api/clients', { onRequest }, async () => {
    const clients = await ctx.store.clients.list();
    return { clients: clients.map(clientView), total: clients.length };
  });

  // Before /:id, so that "reload" is not read as an id.
  api.post('/admin/api/clients/reload', { onRequest }, async () => {
    ctx.clients.invalidate();
    const clients = await ctx.store.clients.list();
    return { success: true, clients_loaded: clients.length };
  });

  api.get(
    '/admin/api/clients/:id',
    { onRequest, schema: { params: IdParams } },
    async (request) => {
      const client = await ctx.store.clients.findById(request.params.id);
      if (!client) throw new NotFoundError('client');
      return clientView(client);
    },
  );

  api.patch(
    '/admin/api/clients/:id',
    { onRequest, schema: { params: IdParams, body: ClientBody } },
    async (request) => {
      const { client, secret } = await updateClient(
        ctx,
        request.params.id,
        clientInput(request.body),
      );
      return clientWithSecret(client, secret);
    },
  );

  api.post(
    '/admin/api/clients/:id/secret',
    { onRequest, schema: { params: IdParams } },
    async (request) => {
      const { client, secret } = await rotateClientSecret(ctx, request.params.id);
      return clientWithSecret(client, secret);
    },
  );

  api.delete(
    '/admin/api/clients/:id',
    { onRequest, schema: { params: IdParams } },
    async (request, reply) => {
      await deleteClient(ctx, request.params.id);
      return reply.code(204).send();
    },
  );
}
