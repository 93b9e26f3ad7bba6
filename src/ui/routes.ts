import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerAccount } from './pages/account.js';
import { registerAccountEdit } from './pages/account-edit.js';
import { registerAccountPasskeys } from './pages/account-passkeys.js';
import { registerAccountPassword } from './pages/account-password.js';
import { registerAccountTwoFactor } from './pages/account-two-factor.js';
import { registerConnectedApps } from './pages/connected-apps.js';
import { registerDevOutbox } from './pages/dev-outbox.js';
import { registerHome } from './pages/home.js';
import { registerLogin } from './pages/login.js';
import { registerLoginCode } from './pages/login-code.js';
import { registerLoginPasskey } from './pages/login-passkey.js';
import { registerPasswordReset } from './pages/password-reset.js';
import { registerSecondFactor } from './pages/second-factor.js';
import { registerSessionPages } from './pages/sessions.js';
import { registerSignup } from './pages/signup.js';
import { registerVerifyEmail } from './pages/verify-email.js';

/**
 * The HTML pages: the front door (GET /), sign-up, sign-in, password reset, account, connected
 * apps and sessions; in development without SMTP, the outbox (/dev/outbox).
 * Sign-out (POST /logout) is OpenID RP-initiated logout's endpoint, in oauth/logout.ts.
 */
export function registerUiRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerHome(app, ctx);
  registerSignup(app, ctx);
  registerLogin(app, ctx);
  registerLoginCode(app, ctx);
  registerLoginPasskey(app, ctx);
  registerPasswordReset(app, ctx);
  registerSecondFactor(app, ctx);
  registerAccount(app, ctx);
  registerAccountEdit(app, ctx);
  registerAccountPassword(app, ctx);
  registerAccountTwoFactor(app, ctx);
  registerAccountPasskeys(app, ctx);
  registerConnectedApps(app, ctx);
  registerSessionPages(app, ctx);
  registerVerifyEmail(app, ctx);
  registerDevOutbox(app, ctx);
}
