import { type AppContext, nowSeconds } from '../context.js';
import { DOCUMENT_LIMITS } from '../domain/metadata-documents.js';
import { endExpiredSessions } from '../domain/sessions.js';

const DAY = 86_400;
/** The development outbox keeps a week of mail, and at most this many. */
export const OUTBOX_KEEP = { days: 7, mails: 500 };

/**
 * One round of the purge job: sessions that expired are ended (their apps are told, their tokens
 * revoked), then everything expired is deleted, with audit events older than
 * `auditRetentionDays`, metadata-document clients left unused (DocumentLimits.unusedSeconds) and
 * development outbox mails past OUTBOX_KEEP.
 */
export async function purgeOnce(ctx: AppContext) {
  const ended = await endExpiredSessions(ctx);
  const now = nowSeconds(ctx);
  const days = ctx.config.auditRetentionDays;
  const unused = ctx.clients.documents?.limits.unusedSeconds ?? DOCUMENT_LIMITS.unusedSeconds;
  const counts = await ctx.store.purgeExpired(now, {
    ...(days > 0 ? { auditBefore: now - days * DAY } : {}),
    documentClientsUnusedBefore: now - unused,
    outbox: { before: now - OUTBOX_KEEP.days * DAY, keep: OUTBOX_KEEP.mails },
  });
  return { ...counts, sessionsEnded: ended };
}

/** Runs purgeOnce every `purgeInterval` seconds; returns a stop function. */
export function startPurgeJob(ctx: AppContext): () => void {
  if (ctx.config.purgeInterval === 0) return () => {};
  // A round that takes longer than the interval is not overlapped by the next.
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const counts = await purgeOnce(ctx);
      ctx.log.debug({ purged: counts }, 'purged expired records');
    } catch (error) {
      ctx.log.warn({ err: error }, 'purge of expired records failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void run(), ctx.config.purgeInterval * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
