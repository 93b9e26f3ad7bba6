import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { answerDevice, authorizeDevice, DEVICE_GRANT } from '../helpers/device.js';
import { dpopKey, makeProof } from '../helpers/dpop.js';
import { makeClient, makeUser, postForm, signInBrowser } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const insecure = { [oauth.allowInsecureRequests]: true };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The device flow end to end with the two strict client libraries, on the real clock: the device
 * polls /token while a person, in a browser of their own, types the code and allows it over HTTP.
 */
for (const factory of storeFactories()) {
  describe(`device authorization grant with real clients (${factory.name})`, () => {
    let server: RunningServer;
    let ctx: AppContext;
    let db: TestStore;
    beforeAll(async () => {
      db = await factory.open();
      // A one-second interval keeps the real-time polling short.
      server = await startServer({ store: db.store, env: { TESSERA_DEVICE_INTERVAL: '1' } });
      ctx = server.app.tessera;
    });
    afterAll(async () => {
      await server.close();
      await db.cleanup();
    });

    async function setup(confidential: boolean) {
      const made = await makeClient(ctx, {
        ...(confidential ? {} : { type: 'public', tokenEndpointAuthMethod: 'none' }),
        redirectUris: [],
        grantTypes: [DEVICE_GRANT, 'refresh_token'],
        name: 'Kitchen Display',
      });
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      return { made, user, browser };
    }

    it('openid-client: initiateDeviceAuthorization, the person allows, pollDeviceAuthorizationGrant gets tokens', async () => {
      const { made, user, browser } = await setup(false);
      const config = await oidc.discovery(new URL(server.url), made.client.id, {}, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      expect(config.serverMetadata().device_authorization_endpoint).toBe(
        `${server.url}/device_authorization`,
      );
      const started = await oidc.initiateDeviceAuthorization(config, {
        scope: 'openid profile email',
      });
      expect(started.verification_uri).toBe(`${server.url}/device`);
      expect(started.interval).toBe(1);

      const polling = oidc.pollDeviceAuthorizationGrant(config, started);
      const done = await answerDevice(browser, started.user_code, 'Allow');
      expect(done.text).toContain('Device connected');
      const tokens = await polling;

      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.scope).toBe('openid profile email');
      expect(tokens.refresh_token).toBeTypeOf('string');
      // openid-client checked the ID token's signature, iss, aud, exp and iat.
      expect(tokens.claims()?.sub).toBe(user.id);
      const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
      expect(info.email).toBe(user.email);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.access_token).not.toBe(tokens.access_token);
    });

    it('openid-client: a denied device authorization ends the polling with access_denied', async () => {
      const { made, browser } = await setup(true);
      const config = await oidc.discovery(
        new URL(server.url),
        made.client.id,
        {},
        oidc.ClientSecretBasic(made.secret!),
        { execute: [oidc.allowInsecureRequests] },
      );
      const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
      const polling = oidc.pollDeviceAuthorizationGrant(config, started);
      await answerDevice(browser, started.user_code, 'Deny');
      await expect(polling).rejects.toMatchObject({ error: 'access_denied' });
    });

    it('binds the tokens of a device that polls with a DPoP proof to its key (RFC 9449)', async () => {
      const { made, browser } = await setup(false);
      const tc = { client: made.client, secret: undefined };
      const started = await authorizeDevice(server.url, tc, 'openid');
      await answerDevice(browser, started.user_code);
      const key = await dpopKey();
      const res = await postForm(
        server.url,
        '/token',
        { grant_type: DEVICE_GRANT, device_code: started.device_code, client_id: made.client.id },
        { dpop: await makeProof(key, { htu: `${server.url}/token` }) },
      );
      expect(res.status, res.text).toBe(200);
      expect(res.body.token_type).toBe('DPoP');
      expect(decodeJwt(res.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
      // A public client's refresh token is bound to the same key: without a proof it is refused.
      const bare = await postForm(server.url, '/token', {
        grant_type: 'refresh_token',
        refresh_token: res.body.refresh_token as string,
        client_id: made.client.id,
      });
      expect(bare.status).toBe(400);
    });

    it('oauth4webapi: deviceAuthorizationRequest, the person allows, processDeviceCodeResponse gets tokens', async () => {
      const { made, user, browser } = await setup(true);
      const issuer = new URL(server.url);
      const as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, insecure),
      );
      const client: oauth.Client = { client_id: made.client.id };
      const auth = oauth.ClientSecretBasic(made.secret!);
      const started = await oauth.processDeviceAuthorizationResponse(
        as,
        client,
        await oauth.deviceAuthorizationRequest(
          as,
          client,
          auth,
          { scope: 'openid offline_access' },
          insecure,
        ),
      );
      expect(started.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);

      const poll = () =>
        oauth
          .deviceCodeGrantRequest(as, client, auth, started.device_code, insecure)
          .then((response) => oauth.processDeviceCodeResponse(as, client, response));
      // Before the person answers, processDeviceCodeResponse reports authorization_pending.
      await expect(poll()).rejects.toMatchObject({ error: 'authorization_pending' });

      await answerDevice(browser, started.user_code, 'Allow');
      let interval = started.interval ?? 5;
      let tokens: oauth.TokenEndpointResponse | undefined;
      for (let i = 0; i < 10 && !tokens; i++) {
        await sleep(interval * 1000);
        try {
          tokens = await poll();
        } catch (error) {
          if (!(error instanceof oauth.ResponseBodyError)) throw error;
          if (error.error === 'slow_down') interval += 5;
          else if (error.error !== 'authorization_pending') throw error;
        }
      }
      expect(tokens).toBeDefined();
      expect(tokens!.scope).toBe('openid offline_access');
      expect(tokens!.refresh_token).toBeTypeOf('string');
      expect(oauth.getValidatedIdTokenClaims(tokens!)?.sub).toBe(user.id);
      // The code works once.
      await expect(poll()).rejects.toMatchObject({ error: 'invalid_grant' });
    });
  });
}
