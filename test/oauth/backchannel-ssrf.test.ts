import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endSession, startSession } from '../../src/domain/sessions.js';
import { InternalAddressError, postFormOutbound } from '../../src/lib/outbound.js';
import { testApp } from '../helpers/app.js';
import { type BackchannelReceiver, backchannelReceiver } from '../helpers/backchannel.js';
import { makeClient, makeUser } from '../helpers/oauth.js';

/**
 * Issue 9: a back-channel logout URI must not turn Tessera into a way into its own network
 * (server-side request forgery). Registration refuses internal addresses in production (see
 * test/domain/clients.test.ts); the call itself refuses them too, on the addresses the name
 * resolves to when the call is made, so a name that later points inside gets nowhere.
 */
describe('calls Tessera makes to client URIs', () => {
  let receiver: BackchannelReceiver;
  beforeAll(async () => {
    receiver = await backchannelReceiver();
  });
  afterAll(async () => receiver.close());

  const port = () => new URL(receiver.url).port;

  it('reach an internal address only when allowed (outside production)', async () => {
    const before = receiver.received.length;
    const status = await postFormOutbound(
      receiver.url,
      { logout_token: 'a' },
      {
        timeoutMs: 2000,
        externalOnly: false,
      },
    );
    expect(status).toBe(200);
    expect(receiver.received.length).toBe(before + 1);
  });

  it('refuse an internal IP literal, and a name that resolves to one, in production', async () => {
    const before = receiver.received.length;
    for (const url of [
      `http://127.0.0.1:${port()}/backchannel`,
      `http://localhost:${port()}/backchannel`,
      `http://[::ffff:127.0.0.1]:${port()}/backchannel`,
    ]) {
      await expect(
        postFormOutbound(url, { logout_token: 'a' }, { timeoutMs: 2000, externalOnly: true }),
        url,
      ).rejects.toBeInstanceOf(InternalAddressError);
    }
    expect(receiver.received.length).toBe(before);
  });

  it('a production server sends no logout token to a client URI that resolves inside', async () => {
    const app = await testApp({
      env: { NODE_ENV: 'production', TESSERA_SMTP_URL: 'smtp://127.0.0.1:9' },
    });
    try {
      const ctx = app.tessera;
      // Stored directly: at registration its name resolved elsewhere; now it points at loopback.
      const { client } = await makeClient(ctx, {
        backchannelLogoutUri: `http://localhost:${port()}/backchannel`,
      });
      const { user } = await makeUser(ctx);
      const { session } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
      await ctx.store.sessions.addClient(session.id, client.id, session.createdAt);
      const before = receiver.received.length;
      expect(await endSession(ctx, session, { by: 'cli', reason: 'ended' })).toBe(true);
      // Once the background work is done, any call would have been made.
      await ctx.background.drain();
      expect(receiver.received.length).toBe(before);
    } finally {
      await app.close();
    }
  });
});
