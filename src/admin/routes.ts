import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerClientAdmin } from './clients.js';
import { registerUserAdmin } from './users.js';

/** The admin REST API under /admin/api/. */
export function registerAdminRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerClientAdmin(app, ctx);
  registerUserAdmin(app, ctx);
}
