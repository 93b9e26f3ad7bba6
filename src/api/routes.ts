import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerUserApi } from './users.js';

/** The public JSON API for accounts (registration). */
export function registerApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerUserApi(app, ctx);
}
