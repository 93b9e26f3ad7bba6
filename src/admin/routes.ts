import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerApiAdmin } from './apis.js';
import { registerAuditAdmin } from './audit.js';
import { registerClientAdmin } from './clients.js';
import { registerRegistrationTokenAdmin } from './registration-tokens.js';
import { registerUserAdmin } from './users.js';

/** The admin REST API under /admin/api/: clients, APIs, registration tokens, people and the audit log. */
export function registerAdminRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerClientAdmin(app, ctx);
  registerApiAdmin(app, ctx);
  registerRegistrationTokenAdmin(app, ctx);
  registerUserAdmin(app, ctx);
  registerAuditAdmin(app, ctx);
}
