import { type IdTokenAlg, REDIRECT_URI, REFRESH_SCOPE } from '../servers/fixtures.js';
import type { PeerClients } from '../servers/peer.js';
import { Browser, basicAuth, redirectParams } from './http.js';
import { pkcePair } from './pkce.js';

/** The person signed in to one of the peer's person clients. */
export interface PeerSignIn {
  /** An opaque access token of the signed-in person (userinfo, introspection). */
  accessToken: string;
  /** A refresh token to clone into the pool. */
  refreshToken: string;
  /** The Cookie header of the person's session (its cookies are signed). */
  sessionCookie: string;
}

export interface PeerFixtures {
  clients: PeerClients;
  /** The sign-in through each ID-token algorithm's client; RS256's serves c and d too. */
  idToken: Record<IdTokenAlg, PeerSignIn>;
}

/** Signs the account in once through each person client of the peer. */
export async function setUpPeer(
  url: string,
  clients: PeerClients,
  account: string,
): Promise<PeerFixtures> {
  return {
    clients,
    idToken: {
      RS256: await signIn(url, clients.web.RS256, account),
      ES256: await signIn(url, clients.web.ES256, account),
    },
  };
}

/**
 * Signs the fixed account in through the peer's own development interactions
 * (login, then consent to openid profile email offline_access), exchanges the
 * code, and keeps the session: afterwards /auth answers with a code at once,
 * as Tessera does for a signed-in person with remembered consent.
 */
async function signIn(
  url: string,
  client: { id: string; secret: string },
  account: string,
): Promise<PeerSignIn> {
  const browser = new Browser(url);
  try {
    const { verifier, challenge } = pkcePair();
    const query = new URLSearchParams({
      client_id: client.id,
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
      headers: { authorization: basicAuth(client.id, client.secret) },
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
    return { accessToken: body.access_token, refreshToken: body.refresh_token, sessionCookie };
  } finally {
    browser.close();
  }
}
