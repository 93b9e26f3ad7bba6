import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** The admin REST API under /admin/api/. */
export function registerAdminRoutes(_app: FastifyInstance, _ctx: AppContext): void {}
