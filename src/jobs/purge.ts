import { type AppContext, nowSeconds } from '../context.js';

const DAY = 86_400;

/**
 * Purges expired codes, tokens, sessions and keys, and audit events older than
 * `auditRetentionDays`, every `purgeInterval` seconds; returns a stop function.
 */
export function startPurgeJob(ctx: AppContext): () => void {
  if (ctx.config.purgeInterval === 0) return () => {};
  const run = async () => {
    try {
      const now = nowSeconds(ctx);
      const days = ctx.config.auditRetentionDays;
      const counts = await ctx.store.purgeExpired(
        now,
        days > 0 ? { auditBefore: now - days * DAY } : {},
      );
      ctx.log.debug({ purged: counts }, 'purged expired records');
    } catch (error) {
      ctx.log.warn({ err: error }, 'purge of expired records failed');
    }
  };
  const timer = setInterval(() => void run(), ctx.config.purgeInterval * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
