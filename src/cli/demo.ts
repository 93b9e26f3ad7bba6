import { createHash } from 'node:crypto';
import type { AppContext } from '../context.js';
import { createClient, rotateClientSecret } from '../domain/clients.js';
import { hashPassword } from '../domain/passwords.js';
import { registerUser } from '../domain/users.js';
import { randomToken } from '../lib/random.js';

const DEMO_USER = 'demo';
const DEMO_CLIENT = 'Demo app';
const DEMO_REDIRECT = 'http://localhost:3000/callback';

/**
 * `tessera start --demo`: a demo user and a demo client, created once and
 * given fresh credentials on every start (secrets are stored hashed, so the old
 * ones cannot be shown again). Returns the lines to print.
 */
export async function createDemo(ctx: AppContext): Promise<string[]> {
  const password = randomToken(12);
  const existing = await ctx.store.users.findByLogin(DEMO_USER);
  if (existing) {
    await ctx.store.users.update(
      existing.id,
      { passwordHash: await hashPassword(password) },
      Math.floor(Date.now() / 1000),
    );
  } else {
    await registerUser(ctx, {
      username: DEMO_USER,
      email: 'demo@example.com',
      password,
      givenName: 'Demo',
      familyName: 'User',
      emailVerified: true,
    });
  }

  const clients = await ctx.store.clients.list();
  const found = clients.find((c) => c.name === DEMO_CLIENT);
  const { client, secret } = found
    ? await rotateClientSecret(ctx, found.id)
    : await createClient(ctx, {
        name: DEMO_CLIENT,
        redirectUris: [DEMO_REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes: ['openid', 'profile', 'email', 'phone', 'address', 'offline_access', 'api:read'],
      });

  const verifier = randomToken(32);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = `${ctx.config.issuer}/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: DEMO_REDIRECT,
    scope: 'openid profile email offline_access',
    state: 'demo',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
  return [
    '  Demo user:',
    `    username: ${DEMO_USER}    password: ${password}`,
    '  Demo client (confidential):',
    `    client_id:     ${client.id}`,
    `    client_secret: ${secret}`,
    `    redirect_uri:  ${DEMO_REDIRECT}`,
    '  Try the code flow: open this URL, sign in as the demo user, and copy `code` from the address bar:',
    `    ${authorize}`,
    '  then exchange it (code_verifier matches the challenge in the URL):',
    `    curl -s -u '${client.id}:${secret}' ${ctx.config.issuer}/token \\`,
    `      -d grant_type=authorization_code -d redirect_uri=${DEMO_REDIRECT} \\`,
    `      -d code_verifier=${verifier} -d code=PASTE_THE_CODE`,
  ];
}
