import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import type { Store, TotpEnrolment } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newUser } from './fixtures.js';

const hashes = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => sha256(`${tag}-${i}`));

for (const factory of storeFactories()) {
  describe(`${factory.name} store: TOTP and recovery codes`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    async function enrolled(
      lastStep = 100,
    ): Promise<{ enrolment: TotpEnrolment; codes: string[] }> {
      const user = await store.users.create(newUser());
      const enrolment = { userId: user.id, secretSealed: 'v1.a.b.c', enabledAt: NOW, lastStep };
      const codes = hashes(10, user.id);
      expect(await store.totp.enable(enrolment, codes)).toBe(true);
      return { enrolment, codes };
    }

    it('keeps an enrolment as written, with its ten unused recovery codes', async () => {
      const { enrolment } = await enrolled();
      expect(await store.totp.find(enrolment.userId)).toEqual(enrolment);
      expect(await store.totp.countRecoveryCodes(enrolment.userId)).toBe(10);
      expect(await store.totp.find('nobody')).toBeUndefined();
      expect(await store.totp.countRecoveryCodes('nobody')).toBe(0);
    });

    it('refuses a second enrolment of the same person, keeping the first', async () => {
      const { enrolment, codes } = await enrolled();
      const other = { ...enrolment, secretSealed: 'v1.x.y.z', lastStep: 5 };
      expect(await store.totp.enable(other, hashes(10, 'other'))).toBe(false);
      expect(await store.totp.find(enrolment.userId)).toEqual(enrolment);
      expect(await store.totp.useRecoveryCode(enrolment.userId, codes[0]!, NOW)).toBe(true);
    });

    it('accepts only time steps later than the last one accepted', async () => {
      const { enrolment } = await enrolled(100);
      expect(await store.totp.acceptStep(enrolment.userId, 100)).toBe(false);
      expect(await store.totp.acceptStep(enrolment.userId, 99)).toBe(false);
      expect(await store.totp.acceptStep(enrolment.userId, 101)).toBe(true);
      expect(await store.totp.acceptStep(enrolment.userId, 101)).toBe(false);
      expect(await store.totp.acceptStep(enrolment.userId, 100)).toBe(false);
      expect(await store.totp.acceptStep(enrolment.userId, 103)).toBe(true);
      expect(await store.totp.acceptStep(enrolment.userId, 102)).toBe(false);
      expect((await store.totp.find(enrolment.userId))?.lastStep).toBe(103);
      expect(await store.totp.acceptStep('nobody', 1)).toBe(false);
    });

    it('accepts a step for exactly one of ten concurrent submissions', async () => {
      const { enrolment } = await enrolled(100);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.totp.acceptStep(enrolment.userId, 101)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('spends each recovery code once, and only the person’s own', async () => {
      const { enrolment, codes } = await enrolled();
      const { enrolment: someone } = await enrolled();
      expect(await store.totp.useRecoveryCode(someone.userId, codes[0]!, NOW)).toBe(false);
      expect(await store.totp.useRecoveryCode(enrolment.userId, codes[0]!, NOW)).toBe(true);
      expect(await store.totp.useRecoveryCode(enrolment.userId, codes[0]!, NOW + 1)).toBe(false);
      expect(await store.totp.useRecoveryCode(enrolment.userId, sha256('unknown'), NOW)).toBe(
        false,
      );
      expect(await store.totp.countRecoveryCodes(enrolment.userId)).toBe(9);
    });

    it('gives a recovery code to exactly one of ten concurrent submissions', async () => {
      const { enrolment, codes } = await enrolled();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.totp.useRecoveryCode(enrolment.userId, codes[3]!, NOW),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('replaces every recovery code, used or not', async () => {
      const { enrolment, codes } = await enrolled();
      await store.totp.useRecoveryCode(enrolment.userId, codes[0]!, NOW);
      const fresh = hashes(10, `${enrolment.userId}-again`);
      await store.totp.replaceRecoveryCodes(enrolment.userId, fresh, NOW + 10);
      expect(await store.totp.countRecoveryCodes(enrolment.userId)).toBe(10);
      expect(await store.totp.useRecoveryCode(enrolment.userId, codes[1]!, NOW)).toBe(false);
      expect(await store.totp.useRecoveryCode(enrolment.userId, fresh[1]!, NOW)).toBe(true);
    });

    it('turning off removes the enrolment and its codes; it can be turned on again', async () => {
      const { enrolment, codes } = await enrolled();
      expect(await store.totp.disable(enrolment.userId)).toBe(true);
      expect(await store.totp.disable(enrolment.userId)).toBe(false);
      expect(await store.totp.find(enrolment.userId)).toBeUndefined();
      expect(await store.totp.countRecoveryCodes(enrolment.userId)).toBe(0);
      expect(await store.totp.useRecoveryCode(enrolment.userId, codes[0]!, NOW)).toBe(false);
      const again = { ...enrolment, enabledAt: NOW + 60, lastStep: 7 };
      expect(await store.totp.enable(again, codes)).toBe(true);
      expect(await store.totp.find(enrolment.userId)).toEqual(again);
      expect(await store.totp.countRecoveryCodes(enrolment.userId)).toBe(10);
    });

    it('a deleted person takes their enrolment and codes along', async () => {
      const { enrolment } = await enrolled();
      expect(await store.users.delete(enrolment.userId)).toBe(true);
      expect(await store.totp.find(enrolment.userId)).toBeUndefined();
      expect(await store.totp.countRecoveryCodes(enrolment.userId)).toBe(0);
    });
  });
}
