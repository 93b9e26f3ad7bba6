import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceDecision, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newDeviceCode, newToken, seedGrant } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: device codes (RFC 8628)`, () => {
    let testStore: TestStore;
    let store: Store;
    let owner: { userId: string; clientId: string; grantId: string };
    beforeEach(async () => {
      testStore = await factory.open();
      store = testStore.store;
      owner = await seedGrant(store);
    });
    afterEach(async () => testStore.cleanup());

    const approval = (): DeviceDecision => ({
      status: 'approved',
      userId: owner.userId,
      grantId: owner.grantId,
      authTime: NOW - 30,
      acr: 'urn:tessera:pwd',
      amr: ['pwd'],
    });

    it('round-trips every field, found by either hash', async () => {
      const code = newDeviceCode(owner.clientId, {
        status: 'approved',
        userId: owner.userId,
        grantId: owner.grantId,
        authTime: NOW - 1,
        acr: 'urn:tessera:pwd',
        amr: ['pwd', 'otp'],
        lastPolledAt: NOW - 3,
        interval: 10,
      });
      await store.deviceCodes.save(code);
      expect(await store.deviceCodes.find(code.id)).toEqual(code);
      expect(await store.deviceCodes.findByUserCode(code.userCodeHash)).toEqual(code);
      expect(await store.deviceCodes.find('missing')).toBeUndefined();
    });

    it('refuses a second code with the same user code', async () => {
      const first = newDeviceCode(owner.clientId);
      await store.deviceCodes.save(first);
      await expect(
        store.deviceCodes.save(newDeviceCode(owner.clientId, { userCodeHash: first.userCodeHash })),
      ).rejects.toThrow();
    });

    it('records one answer of ten concurrent ones, and none once expired', async () => {
      const code = newDeviceCode(owner.clientId);
      await store.deviceCodes.save(code);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.deviceCodes.decide(
            code.id,
            i % 2 ? approval() : { ...approval(), status: 'denied', grantId: null },
            NOW,
          ),
        ),
      );
      expect(answers.filter(Boolean)).toHaveLength(1);
      const expired = newDeviceCode(owner.clientId, { expiresAt: NOW });
      await store.deviceCodes.save(expired);
      expect(await store.deviceCodes.decide(expired.id, approval(), NOW)).toBe(false);
      expect((await store.deviceCodes.find(expired.id))?.status).toBe('pending');
    });

    it('records a poll only over the one it read', async () => {
      const code = newDeviceCode(owner.clientId);
      await store.deviceCodes.save(code);
      expect(await store.deviceCodes.recordPoll(code.id, null, NOW, 5)).toBe(true);
      expect(await store.deviceCodes.recordPoll(code.id, null, NOW + 1, 5)).toBe(false);
      expect(await store.deviceCodes.recordPoll(code.id, NOW, NOW + 2, 10)).toBe(true);
      const stored = await store.deviceCodes.find(code.id);
      expect(stored).toMatchObject({ lastPolledAt: NOW + 2, interval: 10 });
    });

    it('redeems an approved code once of ten concurrent tries, storing its tokens once', async () => {
      const code = newDeviceCode(owner.clientId);
      await store.deviceCodes.save(code);
      await store.deviceCodes.decide(code.id, approval(), NOW);
      const tries = Array.from({ length: 10 }, () => newToken(owner));
      const results = await Promise.all(
        tries.map((token) =>
          store.deviceCodes.redeem({
            id: code.id,
            clientId: owner.clientId,
            now: NOW,
            tokens: [token],
          }),
        ),
      );
      const won = results.filter((r) => r !== undefined);
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ status: 'approved', consumedAt: NOW, userId: owner.userId });
      const stored = await Promise.all(tries.map((t) => store.tokens.find(t.id)));
      expect(stored.filter((t) => t !== undefined)).toHaveLength(1);
    });

    it('deletes the device codes answered under a grant when it is revoked, and those of a deleted person or client', async () => {
      const underGrant = newDeviceCode(owner.clientId);
      const pending = newDeviceCode(owner.clientId);
      await store.deviceCodes.save(underGrant);
      await store.deviceCodes.save(pending);
      await store.deviceCodes.decide(underGrant.id, approval(), NOW);
      expect(await store.grants.revoke(owner.grantId, NOW)).toBe(true);
      expect(await store.deviceCodes.find(underGrant.id)).toBeUndefined();
      expect(await store.deviceCodes.find(pending.id)).toBeDefined();

      const other = await seedGrant(store);
      const ofPerson = newDeviceCode(other.clientId);
      await store.deviceCodes.save(ofPerson);
      await store.deviceCodes.decide(
        ofPerson.id,
        { ...approval(), userId: other.userId, grantId: other.grantId },
        NOW,
      );
      await store.users.delete(other.userId);
      expect(await store.deviceCodes.find(ofPerson.id)).toBeUndefined();
      await store.clients.delete(owner.clientId);
      expect(await store.deviceCodes.find(pending.id)).toBeUndefined();
    });

    it('leaves no live token when a grant is revoked while its device code is redeemed', async () => {
      for (let round = 0; round < 5; round++) {
        const grant = await seedGrant(store);
        const code = newDeviceCode(grant.clientId);
        await store.deviceCodes.save(code);
        await store.deviceCodes.decide(
          code.id,
          { ...approval(), userId: grant.userId, grantId: grant.grantId },
          NOW,
        );
        const token = newToken(grant);
        await Promise.all([
          store.deviceCodes.redeem({
            id: code.id,
            clientId: grant.clientId,
            now: NOW,
            tokens: [token],
          }),
          store.grants.revoke(grant.grantId, NOW),
        ]);
        const stored = await store.tokens.find(token.id);
        // Either never stored, or stored and then revoked with the grant.
        expect(stored === undefined || stored.revokedAt !== null, `round ${round}`).toBe(true);
      }
    });

    it('redeems nothing pending, denied, expired, or of another client', async () => {
      const pending = newDeviceCode(owner.clientId);
      const denied = newDeviceCode(owner.clientId);
      const expired = newDeviceCode(owner.clientId, { expiresAt: NOW + 1 });
      const other = newDeviceCode(owner.clientId);
      for (const c of [pending, denied, expired, other]) await store.deviceCodes.save(c);
      await store.deviceCodes.decide(denied.id, { ...approval(), status: 'denied' }, NOW);
      await store.deviceCodes.decide(expired.id, approval(), NOW);
      await store.deviceCodes.decide(other.id, approval(), NOW);
      const redeem = (id: string, clientId = owner.clientId, now = NOW) =>
        store.deviceCodes.redeem({ id, clientId, now, tokens: [newToken(owner)] });
      expect(await redeem(pending.id)).toBeUndefined();
      expect(await redeem(denied.id)).toBeUndefined();
      expect(await redeem(expired.id, owner.clientId, NOW + 1)).toBeUndefined();
      expect(await redeem(other.id, 'another-client')).toBeUndefined();
      expect(await redeem(other.id)).toBeDefined();
    });
  });
}
