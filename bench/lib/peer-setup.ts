import { REDIRECT_URI, REFRESH_SCOPE } from '../servers/fixtures.js';
import type { PeerClients } from '../servers/peer.js';
import { Browser, basicAuth, redirectParams } from './http.js';
import { pkcePair } from './pkce.js';

export interface PeerFixtures {
  clients: PeerClients;
  /** An opaque access token of the signed-in person (userinfo, introspection). */
  accessToken: string;
  /** A refresh token to clone into the pool. */
  refreshToken: string;
  /** The Cookie header of the person's session (its cookies are signed). */
  sessionCookie: string;
}

/**
 * Signs the fixed account in through the peer's own development interactions
 * (login, then consent to openid profile email offline_access), exchanges the
 * code, and keeps the session: afterwards /auth answers with a code at once,
 * as Tessera does for a signed-in person with remembered consent.
 */
export async function setUpPeer(url: string, clients: PeerClients, account: string) {
  const browser = new Browser(url);
  try {
    const { verifier, challenge } = pkcePair();
    const query = new URLSearchParams({
      client_id: clients.web.id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: REFRESH_SCOPE,
      // oidc-provider grants offline_access only with an explicit consent prompt.
      prompt: 'consent',
      state: 'setup',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    let page = await browser.follow(await browser.request(`/auth?${query}`));
    if (page.status !== 200) throw new Error(`peer: no login page (${page.status})`);
    page = await browser.follow(
      await browser.request(browser.lastPath, {
        form: { prompt: 'login', login: account, password: 'any' },
      }),
    );
    if (page.status !== 200) throw new Error(`peer: no consent page (${page.status})`);
    const done = await browser.follow(
      await browser.request(browser.lastPath, { form: { prompt: 'consent' } }),
    );
    const code = redirectParams(done, url).get('code');
    if (!code) throw new Error(`peer: no code after consent (${done.headers.location})`);
    const tokens = await browser.request('/token', {
      headers: { authorization: basicAuth(clients.web.id, clients.web.secret) },
      form: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
    });
    const body = JSON.parse(tokens.body) as Record<string, string>;
    if (!body.access_token || !body.refresh_token)
      throw new Error(`peer: code exchange failed: ${tokens.body}`);
    const sessionCookie = [...browser.cookies]
      .filter(([name]) => name.startsWith('_session'))
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    return {
      clients,
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      sessionCookie,
    } satisfies PeerFixtures;
  } finally {
    browser.close();
  }
}
