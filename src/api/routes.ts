import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** The public JSON API for accounts (registration). */
export function registerApiRoutes(_app: FastifyInstance, _ctx: AppContext): void {}
