import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** The HTML pages: sign-up, sign-in, sign-out, account. */
export function registerUiRoutes(_app: FastifyInstance, _ctx: AppContext): void {}
