import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type Composed, composeContext } from '../src/compose.js';
import { deleteClient } from '../src/domain/clients.js';
import { setPassword } from '../src/domain/password-change.js';
import { startSession } from '../src/domain/sessions.js';
import { systemClock } from '../src/lib/clock.js';
import type { EventBus, TesseraEvent } from '../src/store/events.js';
import { backchannelReceiver } from './helpers/backchannel.js';
import { testConfig } from './helpers/config.js';
import { makeClient, makeUser } from './helpers/oauth.js';
import { openSqlite, type TestStore } from './helpers/stores.js';

/** An event bus that keeps what is published, as Redis would carry it to the other instances. */
function recordingBus(): EventBus & { published: TesseraEvent[] } {
  const published: TesseraEvent[] = [];
  return {
    kind: 'local',
    published,
    publish: (event) => void published.push(event),
    subscribe() {},
    close: async () => {},
  };
}

/**
 * The server (app.ts) and every CLI command (cli/context.ts) are built by the same
 * composeContext, so a command changes things as a request would (issue 10 point 7).
 */
describe("a command's context", () => {
  let opened: TestStore | undefined;
  let composed: Composed | undefined;
  afterEach(async () => {
    await composed?.close();
    await opened?.cleanup();
    composed = undefined;
    opened = undefined;
  });

  async function commandContext(events?: EventBus) {
    opened = await openSqlite();
    composed = await composeContext({
      config: testConfig(),
      store: opened.store,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      role: 'command',
      ...(events ? { events } : {}),
    });
    return composed.ctx;
  }

  it('tells the apps of the sessions it ends (back-channel logout) before it closes', async () => {
    const ctx = await commandContext();
    const receiver = await backchannelReceiver();
    try {
      const { client } = await makeClient(ctx, { backchannelLogoutUri: receiver.url });
      const { user } = await makeUser(ctx);
      const { session } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
      await ctx.store.sessions.addClient(session.id, client.id, session.createdAt);
      await setPassword(ctx, user, 'a new and long password', { by: 'cli' });
      await composed!.close();
      composed = undefined;
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('tells running servers what it changed: clients to reload, tokens to forget', async () => {
    const bus = recordingBus();
    const ctx = await commandContext(bus);
    const { client } = await makeClient(ctx);
    await deleteClient(ctx, client.id);
    expect(bus.published).toEqual(
      expect.arrayContaining([
        { type: 'client.changed', id: client.id },
        { type: 'tokens.changed' },
      ]),
    );
  });
});
