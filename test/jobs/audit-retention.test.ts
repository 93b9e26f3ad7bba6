import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppContext, nowSeconds } from '../../src/context.js';
import { startPurgeJob } from '../../src/jobs/purge.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { testApp } from '../helpers/app.js';

const DAY = 86_400;

describe('the purge job and TESSERA_AUDIT_RETENTION_DAYS', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    app = await testApp({ clock, env: { TESSERA_AUDIT_RETENTION_DAYS: '30' } });
    ctx = app.tessera;
  });
  afterAll(async () => app.close());

  const record = (type: string, age: number) =>
    ctx.store.audit.record({
      type,
      userId: null,
      clientId: null,
      ip: null,
      details: null,
      createdAt: nowSeconds(ctx) - age,
    });
  const types = async () => (await ctx.store.audit.list({ limit: 100 })).map((e) => e.type);

  /** Runs the job once a second for as long as `check` takes to hold, five seconds at most. */
  async function runJob(config: Partial<AppContext['config']>, check: () => Promise<boolean>) {
    const stop = startPurgeJob({ ...ctx, config: { ...ctx.config, purgeInterval: 1, ...config } });
    try {
      const deadline = Date.now() + 5_000;
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      while (!(await check()) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      stop();
    }
  }

  it('deletes audit events older than the retention, and keeps the younger ones', async () => {
    await record('older than 30 days', 30 * DAY + 1);
    await record('29 days old', 29 * DAY);
    await record('today', 0);
    await runJob({}, async () => !(await types()).includes('older than 30 days'));
    expect(await types()).toEqual(['today', '29 days old']);
  });

  it('keeps every audit event when the retention is 0', async () => {
    await record('ten years old', 3650 * DAY);
    // Once the job has run (at one second), whatever it found.
    await runJob({ auditRetentionDays: 0 }, async () => true);
    expect(await types()).toContain('ten years old');
  });
});
