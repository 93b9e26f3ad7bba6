import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerOtpApi } from './otp.js';
import { registerUserApi } from './users.js';

/**
 * The public JSON API for accounts: registration, and one-time codes by e-mail (with seed 004's
 * paths /auth/send-otp, /auth/resend-otp and /auth/verify-otp as aliases).
 */
export function registerApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerUserApi(app, ctx);
  registerOtpApi(app, ctx);
}
