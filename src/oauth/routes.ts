import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** The protocol endpoints: /authorize, /token, /userinfo, /revoke, /introspect, /jwks, discovery. */
export async function registerOAuthRoutes(_app: FastifyInstance, _ctx: AppContext): Promise<void> {}
