import { type AppContext, nowSeconds } from '../context.js';

/** Purges expired codes, tokens, sessions and keys every `purgeInterval` seconds; returns a stop function. */
export function startPurgeJob(ctx: AppContext): () => void {
  if (ctx.config.purgeInterval === 0) return () => {};
  const run = async () => {
    try {
      const counts = await ctx.store.purgeExpired(nowSeconds(ctx));
      ctx.log.debug({ purged: counts }, 'purged expired records');
    } catch (error) {
      ctx.log.warn({ err: error }, 'purge of expired records failed');
    }
  };
  const timer = setInterval(() => void run(), ctx.config.purgeInterval * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
