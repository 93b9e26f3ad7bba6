import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type CodeAttempt, SecondFactorGuesses } from '../../src/domain/second-factor-guesses.js';
import { type Counters, memoryCounters, redisCounters } from '../../src/store/counters.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') {
  throw new Error('CI=true but TEST_REDIS_URL is not set: the Redis tests cannot be skipped in CI');
}

const LIMITS = { maxFailures: 5, window: 900, dailyMaxFailures: 20 };

async function begun(guesses: SecondFactorGuesses, userId: string): Promise<CodeAttempt> {
  const attempt = await guesses.begin(userId);
  if ('refusedFor' in attempt) throw new Error(`refused for ${attempt.refusedFor} s`);
  return attempt;
}

describe('wrong second-factor codes, per account', () => {
  it('the 5th wrong code gives the wait, the 6th attempt is refused, a right code starts again', async () => {
    const guesses = new SecondFactorGuesses(memoryCounters(), LIMITS);
    for (let i = 1; i <= 4; i++) expect(await (await begun(guesses, 'a')).failed()).toBe(0);
    expect(await (await begun(guesses, 'a')).failed()).toBe(900);
    expect(await guesses.begin('a')).toEqual({ refusedFor: 900 });
    // Another account is not touched.
    await (await begun(guesses, 'b')).succeeded();

    for (let i = 1; i <= 4; i++) expect(await (await begun(guesses, 'c')).failed()).toBe(0);
    await (await begun(guesses, 'c')).succeeded();
    for (let i = 1; i <= 4; i++) expect(await (await begun(guesses, 'c')).failed()).toBe(0);
  });

  it("the day's 20th wrong code gives the day's wait; right codes and forgiven attempts are not counted", async () => {
    const guesses = new SecondFactorGuesses(memoryCounters(), {
      maxFailures: 1000,
      window: 900,
      dailyMaxFailures: 20,
    });
    for (let i = 1; i <= 19; i++) expect(await (await begun(guesses, 'd')).failed()).toBe(0);
    await (await begun(guesses, 'd')).succeeded();
    await (await begun(guesses, 'd')).forgiven();
    const wait = await (await begun(guesses, 'd')).failed();
    expect(wait).toBeGreaterThan(86_000);
    expect(wait).toBeLessThanOrEqual(86_400);
    expect('refusedFor' in (await guesses.begin('d'))).toBe(true);
  });

  it('counts a burst of parallel guesses strictly: ten at once, five are checked', async () => {
    const guesses = new SecondFactorGuesses(memoryCounters(), LIMITS);
    const attempts = await Promise.all(Array.from({ length: 10 }, () => guesses.begin('burst')));
    expect(attempts.filter((a) => 'refusedFor' in a)).toHaveLength(5);
  });

  describe.skipIf(!redisUrl)('in Redis', () => {
    const prefix = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
    const opened: Counters[] = [];
    afterAll(async () => {
      for (const counters of opened) await counters.close();
    });

    it('spans instances: wrong codes at one and another count together', async () => {
      const [one, two] = await Promise.all(
        [0, 1].map(async () => {
          const counters = await redisCounters(redisUrl!, { prefix });
          opened.push(counters);
          return new SecondFactorGuesses(counters, LIMITS);
        }),
      );
      for (let i = 0; i < 2; i++) expect(await (await begun(one!, 'shared')).failed()).toBe(0);
      for (let i = 0; i < 2; i++) expect(await (await begun(two!, 'shared')).failed()).toBe(0);
      const fifth = await (await begun(one!, 'shared')).failed();
      expect(fifth).toBeGreaterThan(890);
      const refused = await two!.begin('shared');
      expect('refusedFor' in refused && refused.refusedFor).toBeGreaterThan(890);
    });
  });
});
