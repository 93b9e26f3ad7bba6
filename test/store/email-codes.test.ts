import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/lib/random.js';
import type { EmailCode, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newUser } from './fixtures.js';

let count = 0;
function newCode(overrides: Partial<EmailCode> = {}): EmailCode {
  count += 1;
  return {
    id: randomId(),
    purpose: 'api',
    addressKey: `person${count}@example.com`,
    userId: null,
    codeHash: `hash-${randomId()}`,
    linkHash: null,
    attempts: 0,
    createdAt: NOW,
    expiresAt: NOW + 600,
    consumedAt: null,
    ...overrides,
  };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store: e-mailed codes`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('keeps a code as written, found by purpose and address', async () => {
      const user = await store.users.create(newUser());
      const code = newCode({ purpose: 'verify_email', userId: user.id, linkHash: 'link-hash' });
      await store.emailCodes.replace(code);
      expect(await store.emailCodes.find('verify_email', code.addressKey, user.id)).toEqual(code);
      expect(await store.emailCodes.find('api', code.addressKey)).toBeUndefined();
    });

    it("keeps a verification code per account: another account's code for the address replaces neither", async () => {
      const [victim, attacker] = await Promise.all([
        store.users.create(newUser()),
        store.users.create(newUser()),
      ]);
      const addressKey = `shared${randomId()}@example.com`;
      const mine = newCode({
        purpose: 'verify_email',
        addressKey,
        userId: victim.id,
        linkHash: `l-${randomId()}`,
      });
      const theirs = newCode({
        purpose: 'verify_email',
        addressKey,
        userId: attacker.id,
        linkHash: `l-${randomId()}`,
      });
      await store.emailCodes.replace(mine);
      await store.emailCodes.replace(theirs);
      expect(await store.emailCodes.find('verify_email', addressKey, victim.id)).toEqual(mine);
      expect(await store.emailCodes.find('verify_email', addressKey, attacker.id)).toEqual(theirs);
      // A newer code of the same account still replaces its own.
      const again = newCode({ purpose: 'verify_email', addressKey, userId: victim.id });
      await store.emailCodes.replace(again);
      expect(await store.emailCodes.find('verify_email', addressKey, victim.id)).toEqual(again);
      expect(await store.emailCodes.find('verify_email', addressKey, attacker.id)).toEqual(theirs);
    });

    it('finds a usable link without spending it, never a spent or expired one', async () => {
      const user = await store.users.create(newUser());
      const code = newCode({
        purpose: 'verify_email',
        userId: user.id,
        linkHash: `l-${randomId()}`,
      });
      await store.emailCodes.replace(code);
      expect(await store.emailCodes.findByLink(code.linkHash!, NOW)).toEqual(code);
      expect(await store.emailCodes.findByLink(code.linkHash!, NOW + 600)).toBeUndefined();
      expect(await store.emailCodes.consumeLink(code.linkHash!, NOW)).toBeDefined();
      expect(await store.emailCodes.findByLink(code.linkHash!, NOW)).toBeUndefined();
    });

    it('replaces the code of the same purpose and address, and only that one', async () => {
      const first = newCode();
      await store.emailCodes.replace(first);
      const other = newCode({ purpose: 'sign_in', addressKey: first.addressKey });
      await store.emailCodes.replace(other);
      const second = newCode({ addressKey: first.addressKey, attempts: 0, createdAt: NOW + 60 });
      await store.emailCodes.replace({ ...first, attempts: 3 });
      await store.emailCodes.replace(second);
      expect(await store.emailCodes.find('api', first.addressKey)).toEqual(second);
      expect(await store.emailCodes.find('sign_in', first.addressKey)).toEqual(other);
      // The replaced code's id is gone with it.
      expect(await store.emailCodes.addAttempt(first.id, 5, NOW)).toBeUndefined();
    });

    it('leaves one code when ten sends race for one address', async () => {
      const addressKey = `race${randomId()}@example.com`;
      const codes = Array.from({ length: 10 }, () => newCode({ addressKey }));
      await Promise.all(codes.map((c) => store.emailCodes.replace(c)));
      const kept = await store.emailCodes.find('api', addressKey);
      expect(codes.map((c) => c.id)).toContain(kept?.id);
    });

    it('counts tries up to the limit, never on a spent or expired code', async () => {
      const code = newCode();
      await store.emailCodes.replace(code);
      for (let n = 1; n <= 5; n++) {
        expect((await store.emailCodes.addAttempt(code.id, 5, NOW))?.attempts).toBe(n);
      }
      expect(await store.emailCodes.addAttempt(code.id, 5, NOW)).toBeUndefined();
      expect((await store.emailCodes.find('api', code.addressKey))?.attempts).toBe(5);

      const expiring = newCode();
      await store.emailCodes.replace(expiring);
      expect(await store.emailCodes.addAttempt(expiring.id, 5, NOW + 599)).toBeDefined();
      expect(await store.emailCodes.addAttempt(expiring.id, 5, NOW + 600)).toBeUndefined();

      const spent = newCode();
      await store.emailCodes.replace(spent);
      expect(await store.emailCodes.consume(spent.id, NOW)).toBeDefined();
      expect(await store.emailCodes.addAttempt(spent.id, 5, NOW)).toBeUndefined();
    });

    it('gives ten concurrent tries no more than five counts between them', async () => {
      const code = newCode();
      await store.emailCodes.replace(code);
      const tries = await Promise.all(
        Array.from({ length: 10 }, () => store.emailCodes.addAttempt(code.id, 5, NOW)),
      );
      const counted = tries.filter((t) => t !== undefined);
      expect(counted).toHaveLength(5);
      expect(counted.map((t) => t?.attempts).sort()).toEqual([1, 2, 3, 4, 5]);
      expect((await store.emailCodes.find('api', code.addressKey))?.attempts).toBe(5);
    });

    it('spends a code once, for exactly one of ten concurrent callers, and never after expiry', async () => {
      const code = newCode();
      await store.emailCodes.replace(code);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.emailCodes.consume(code.id, NOW + 1)),
      );
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect((await store.emailCodes.find('api', code.addressKey))?.consumedAt).toBe(NOW + 1);

      const late = newCode();
      await store.emailCodes.replace(late);
      expect(await store.emailCodes.consume(late.id, NOW + 600)).toBeUndefined();
    });

    it('spends a verification link once, by its hash, and never after expiry', async () => {
      const code = newCode({ purpose: 'verify_email', linkHash: `link-${randomId()}` });
      await store.emailCodes.replace(code);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.emailCodes.consumeLink(code.linkHash!, NOW + 1)),
      );
      expect(results.filter((r) => r !== undefined).map((r) => r?.id)).toEqual([code.id]);

      const late = newCode({ purpose: 'verify_email', linkHash: `link-${randomId()}` });
      await store.emailCodes.replace(late);
      expect(await store.emailCodes.consumeLink(late.linkHash!, NOW + 600)).toBeUndefined();
      expect(await store.emailCodes.consumeLink('unknown', NOW)).toBeUndefined();
    });

    it('purges expired codes, and a deleted account takes its codes along', async () => {
      const old = newCode({ expiresAt: NOW - 1 });
      await store.emailCodes.replace(old);
      await store.purgeExpired(NOW);
      expect(await store.emailCodes.find('api', old.addressKey)).toBeUndefined();

      const user = await store.users.create(newUser());
      const code = newCode({ userId: user.id });
      await store.emailCodes.replace(code);
      await store.users.delete(user.id);
      expect(await store.emailCodes.find('api', code.addressKey)).toBeUndefined();
    });

    it('keeps a pending address apart from the address, and finds the account by it', async () => {
      const user = await store.users.create(newUser());
      const pending = `New.${user.username}@Example.com`;
      const updated = await store.users.update(user.id, { pendingEmail: pending }, NOW + 1);
      expect(updated).toMatchObject({ email: user.email, pendingEmail: pending });
      expect((await store.users.findByPendingEmail(pending.toLowerCase()))?.id).toBe(user.id);
      // Not an address to sign in with.
      expect(await store.users.findByLogin(pending)).toBeUndefined();
      await store.users.update(user.id, { pendingEmail: null }, NOW + 2);
      expect(await store.users.findByPendingEmail(pending)).toBeUndefined();
      expect((await store.users.findById(user.id))?.pendingEmail).toBeNull();
    });

    it('clears an address from the pending address of every other account', async () => {
      const [keeper, other, third] = await Promise.all([
        store.users.create(newUser()),
        store.users.create(newUser()),
        store.users.create(newUser()),
      ]);
      const address = `taken${randomId()}@example.com`;
      for (const u of [keeper, other]) {
        await store.users.update(u.id, { pendingEmail: address }, NOW + 1);
      }
      await store.users.update(third.id, { pendingEmail: `else-${address}` }, NOW + 1);
      expect(await store.users.dropPendingEmail(address.toUpperCase(), keeper.id, NOW + 2)).toBe(1);
      expect((await store.users.findById(other.id))?.pendingEmail).toBeNull();
      expect((await store.users.findById(keeper.id))?.pendingEmail).toBe(address);
      expect((await store.users.findById(third.id))?.pendingEmail).toBe(`else-${address}`);
    });
  });
}
