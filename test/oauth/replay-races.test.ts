import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  type HttpAnswer,
  introspect,
  makeClient,
  makeUser,
  obtainCode,
  obtainTokens,
  pkce,
  postAsClient,
  REDIRECT_URI,
  refresh,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

/*
 * A code or a refresh token presented twice at once, on every database: the request that wins
 * stores its tokens in the commit that spends what it was given, so the one that loses finds
 * them and revokes them with the rest (RFC 9700 §4.5 and §4.14.2).
 */
for (const factory of storeFactories()) {
  describe(`${factory.name}: a code or refresh token presented twice at once`, () => {
    let testStore: TestStore;
    let server: RunningServer;
    let ctx: AppContext;
    beforeAll(async () => {
      testStore = await factory.open();
      server = await startServer({ store: testStore.store });
      ctx = server.app.tessera;
    });
    afterAll(async () => {
      await server.close();
      await testStore.cleanup();
    });

    async function expectRevoked(tc: TestClient, winner: HttpAnswer) {
      for (const token of [winner.body.access_token, winner.body.refresh_token]) {
        expect((await introspect(server.url, tc, String(token))).body).toEqual({ active: false });
      }
    }

    it('code: one of four exchanges gets tokens, and the replay revokes them', async () => {
      const tc = await makeClient(ctx);
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      const { verifier, challenge } = pkce();
      const code = await obtainCode(browser, tc.client, {
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const results = await Promise.all(
        [1, 2, 3, 4].map(() =>
          postAsClient(server.url, '/token', tc, {
            grant_type: 'authorization_code',
            code,
            redirect_uri: REDIRECT_URI,
            code_verifier: verifier,
          }),
        ),
      );
      const winners = results.filter((r) => r.status === 200);
      expect(winners, results.map((r) => r.text).join('\n')).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) {
        expect(r.body.error).toBe('invalid_grant');
      }
      await expectRevoked(tc, winners[0]!);
    });

    it('refresh: one of four rotations gets tokens, and the reuse revokes them', async () => {
      const tc = await makeClient(ctx);
      const { user } = await makeUser(ctx);
      const tokens = await obtainTokens(server.url, ctx, tc, user);
      const results = await Promise.all(
        [1, 2, 3, 4].map(() => refresh(server.url, tc, tokens.refresh_token!)),
      );
      const winners = results.filter((r) => r.status === 200);
      expect(winners, results.map((r) => r.text).join('\n')).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) {
        expect(r.body.error).toBe('invalid_grant');
      }
      await expectRevoked(tc, winners[0]!);
    });

    it('one at a time, each rotation works and its tokens are active', async () => {
      const tc = await makeClient(ctx);
      const { user } = await makeUser(ctx);
      const tokens = await obtainTokens(server.url, ctx, tc, user);
      const first = await refresh(server.url, tc, tokens.refresh_token!);
      expect(first.status, first.text).toBe(200);
      const second = await refresh(server.url, tc, String(first.body.refresh_token));
      expect(second.status, second.text).toBe(200);
      expect((await introspect(server.url, tc, String(second.body.access_token))).body.active).toBe(
        true,
      );
    });
  });
}
