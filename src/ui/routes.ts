import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerAccount } from './pages/account.js';
import { registerAccountEdit } from './pages/account-edit.js';
import { registerLogin } from './pages/login.js';
import { registerLogout } from './pages/logout.js';
import { registerSignup } from './pages/signup.js';

/** The HTML pages: sign-up, sign-in, sign-out, account. */
export function registerUiRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerSignup(app, ctx);
  registerLogin(app, ctx);
  registerLogout(app, ctx);
  registerAccount(app, ctx);
  registerAccountEdit(app, ctx);
}
