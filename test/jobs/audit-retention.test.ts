import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AppContext, nowSeconds } from '../../src/context.js';
import { startPurgeJob } from '../../src/jobs/purge.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { testApp } from '../helpers/app.js';
import { captureLog } from '../helpers/log.js';

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

  /** Starts the job, moves its timer on to its first round, and returns that round's log line. */
  async function runJob(config: Partial<AppContext['config']>) {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const log = captureLog();
    const stop = startPurgeJob({
      ...ctx,
      log: log.logger,
      config: { ...ctx.config, purgeInterval: 1, ...config },
    });
    try {
      const round = log.next((line) => /purge/.test(line.msg ?? ''));
      vi.advanceTimersByTime(1_000);
      const line = await round;
      expect(line.msg).toBe('purged expired records');
      return line;
    } finally {
      stop();
      vi.useRealTimers();
    }
  }

  it('deletes audit events older than the retention, and keeps the younger ones', async () => {
    await record('older than 30 days', 30 * DAY + 1);
    await record('29 days old', 29 * DAY);
    await record('today', 0);
    expect(await runJob({})).toMatchObject({ purged: { audit: 1 } });
    expect(await types()).toEqual(['today', '29 days old']);
  });

  it('keeps every audit event when the retention is 0', async () => {
    await record('ten years old', 3650 * DAY);
    expect(await runJob({ auditRetentionDays: 0 })).toMatchObject({ purged: { audit: 0 } });
    expect(await types()).toContain('ten years old');
  });
});
