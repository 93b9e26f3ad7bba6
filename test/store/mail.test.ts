import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { randomId, randomToken } from '../../src/lib/random.js';
import type { OutboxMail, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newUser } from './fixtures.js';

const DAY = 86_400;

function newMail(overrides: Partial<OutboxMail> = {}): OutboxMail {
  return {
    id: randomId(),
    to: 'ada@example.com',
    kind: 'otp-code',
    subject: 'Tessera: Your code: 123456',
    text: 'Your code: 123456 — “quoted”, <not html>',
    html: '<p>Your code: <b>123456</b></p>',
    createdAt: NOW,
    ...overrides,
  };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store: mail outbox and known browsers`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('keeps outbox mails as written, lists them newest first, and purges past a week or the newest N', async () => {
      const old = newMail({ createdAt: NOW - 7 * DAY - 1 });
      const edge = newMail({ createdAt: NOW - 7 * DAY });
      const recent = [1, 2, 3].map((i) => newMail({ createdAt: NOW + i }));
      for (const mail of [old, edge, ...recent]) await store.outbox.add(mail);
      expect(await store.outbox.list(10)).toEqual([...recent].reverse().concat([edge, old]));
      expect(await store.outbox.list(2)).toEqual([recent[2], recent[1]]);

      // A week to the second is kept; a second more is not.
      const week = { before: NOW - 7 * DAY, keep: 500 };
      expect((await store.purgeExpired(NOW, { outbox: week })).mailOutbox).toBe(1);
      expect((await store.outbox.list(10)).map((m) => m.id)).not.toContain(old.id);
      expect((await store.outbox.list(10)).map((m) => m.id)).toContain(edge.id);

      // Keeping 3 of 4 drops exactly the oldest; keeping 3 of 3 drops none.
      const three = { before: 0, keep: 3 };
      expect((await store.purgeExpired(NOW, { outbox: three })).mailOutbox).toBe(1);
      expect(await store.outbox.list(10)).toEqual([...recent].reverse());
      expect((await store.purgeExpired(NOW, { outbox: three })).mailOutbox).toBe(0);
      // Without the option nothing of the outbox goes.
      expect((await store.purgeExpired(NOW + 30 * DAY)).mailOutbox).toBe(0);
      expect(await store.outbox.list(10)).toHaveLength(3);
    });

    it('tells a first browser, a new one and a known one apart, per person', async () => {
      const ada = await store.users.create(newUser());
      const bob = await store.users.create(newUser());
      const [one, two] = [sha256(randomToken()), sha256(randomToken())];
      expect(await store.browsers.see(ada.id, one, NOW, 50)).toBe('first');
      expect(await store.browsers.see(ada.id, one, NOW + 1, 50)).toBe('known');
      expect(await store.browsers.see(ada.id, two, NOW + 2, 50)).toBe('new');
      expect(await store.browsers.see(ada.id, two, NOW + 3, 50)).toBe('known');
      // The same browser is news for another person.
      expect(await store.browsers.see(bob.id, one, NOW + 4, 50)).toBe('first');
    });

    it('keeps the most recently used browsers up to the limit, and forgets them with the person', async () => {
      const ada = await store.users.create(newUser());
      const hashes = [0, 1, 2, 3].map(() => sha256(randomToken()));
      for (const [i, hash] of hashes.entries()) await store.browsers.see(ada.id, hash, NOW + i, 3);
      // The 4th pushed out the least recently used (the 1st); the 2nd to 4th are still known.
      expect(await store.browsers.see(ada.id, hashes[3]!, NOW + 10, 3)).toBe('known');
      expect(await store.browsers.see(ada.id, hashes[1]!, NOW + 11, 3)).toBe('known');
      expect(await store.browsers.see(ada.id, hashes[0]!, NOW + 12, 3)).toBe('new');
      // Seeing the 1st again pushed out the 3rd, the least recently used now.
      expect(await store.browsers.see(ada.id, hashes[2]!, NOW + 13, 3)).toBe('new');

      expect(await store.users.delete(ada.id)).toBe(true);
      const again = await store.users.create(newUser({ id: ada.id }));
      expect(await store.browsers.see(again.id, hashes[3]!, NOW + 20, 3)).toBe('first');
    });

    it('lists audit events of the named types and type families only', async () => {
      const ada = await store.users.create(newUser());
      const record = (type: string, at: number) =>
        store.audit.record({
          type,
          userId: ada.id,
          clientId: null,
          ip: null,
          details: null,
          createdAt: at,
        });
      await record('security.password_changed', NOW);
      await record('user.login', NOW + 1);
      await record('user.login_failed', NOW + 2);
      await record('user.updated', NOW + 3);
      await record('security.passkey_added', NOW + 4);
      const listed = await store.audit.list({
        limit: 10,
        userId: ada.id,
        types: ['security.', 'user.login'],
      });
      expect(listed.map((e) => e.type)).toEqual([
        'security.passkey_added',
        'user.login',
        'security.password_changed',
      ]);
      expect(
        await store.audit.list({ limit: 1, userId: ada.id, types: ['security.'] }),
      ).toHaveLength(1);
      expect(await store.audit.list({ limit: 10, userId: ada.id })).toHaveLength(5);
    });
  });
}
