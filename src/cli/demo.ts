import { createHash } from 'node:crypto';
import type { AppContext } from '../context.js';
import {
  type ClientInput,
  createClient,
  rotateClientSecret,
  updateClient,
} from '../domain/clients.js';
import { setPassword } from '../domain/password-change.js';
import { registerUser } from '../domain/users.js';
import { randomToken } from '../lib/random.js';

const DEMO_USER = 'demo';
const DEMO_EMAIL = 'demo@example.com';
const DEMO_REDIRECT = 'http://localhost:3000/callback';

/** The demo client's settings, restored on every start in case someone changed them. */
const DEMO_CLIENT: ClientInput = {
  name: 'Demo app',
  type: 'confidential',
  tokenEndpointAuthMethod: 'client_secret_basic',
  redirectUris: [DEMO_REDIRECT],
  grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  scopes: ['openid', 'profile', 'email', 'phone', 'address', 'offline_access', 'api:read'],
};

/** The demo user with a fresh password: created once, its password reset on every start. */
async function demoUser(ctx: AppContext): Promise<string> {
  const password = randomToken(12);
  const existing = await ctx.store.users.findByLogin(DEMO_USER);
  if (existing) {
    // Through the domain, as any new password: whoever signed in with the last one is signed out.
    await setPassword(ctx, existing, password, { by: 'cli' });
  } else {
    await registerUser(ctx, {
      username: DEMO_USER,
      email: DEMO_EMAIL,
      password,
      givenName: 'Demo',
      familyName: 'User',
      emailVerified: true,
    });
  }
  return password;
}

/** The demo client with a fresh secret: created once, its secret rotated on every start. */
async function demoClient(ctx: AppContext) {
  const found = (await ctx.store.clients.list()).find((c) => c.name === DEMO_CLIENT.name);
  if (!found) return createClient(ctx, DEMO_CLIENT);
  const updated = await updateClient(ctx, found.id, DEMO_CLIENT);
  // updateClient makes a secret only when the client was public until now.
  return updated.secret ? updated : rotateClientSecret(ctx, found.id);
}

/**
 * `tessera start --demo`: a demo user and a demo client, created once and
 * given fresh credentials on every start (secrets are stored hashed, so the old
 * ones cannot be shown again). Returns the lines to print.
 */
export async function createDemo(ctx: AppContext): Promise<string[]> {
  const password = await demoUser(ctx);
  const { client, secret } = await demoClient(ctx);

  const verifier = randomToken(32);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  // encodeURIComponent rather than URLSearchParams, so that spaces read as %20 when pasted elsewhere.
  const query = Object.entries({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: DEMO_REDIRECT,
    scope: 'openid profile email',
    state: 'demo',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  const issuer = ctx.config.issuer;
  return [
    '  Demo user:',
    `    username: ${DEMO_USER}    password: ${password}`,
    '  Demo client "Demo app" (confidential):',
    `    client_id:     ${client.id}`,
    `    client_secret: ${secret}`,
    `    redirect_uri:  ${DEMO_REDIRECT}`,
    '  (new password and secret on every start: only their hashes are stored)',
    '',
    '  Try the code flow: open this URL, sign in as the demo user, allow, and copy `code`',
    '  from the address bar of the page you land on (nothing needs to listen on port 3000):',
    `    ${issuer}/authorize?${query}`,
    `    code_verifier: ${verifier}`,
    `  then exchange the code within ${ctx.config.codeTtl} seconds:`,
    `    curl -s -u '${client.id}:${secret}' ${issuer}/token \\`,
    `      -d grant_type=authorization_code -d redirect_uri=${DEMO_REDIRECT} \\`,
    `      -d code_verifier=${verifier} -d code=PASTE_THE_CODE`,
    '  or get a token for the client itself:',
    `    curl -s -u '${client.id}:${secret}' ${issuer}/token -d grant_type=client_credentials`,
  ];
}
