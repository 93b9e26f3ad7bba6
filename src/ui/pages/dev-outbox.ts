import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import type { OutboxMail } from '../../store/types.js';
import { sendPage } from '../render.js';
import { formatTime } from './format-time.js';

/** How many mails the outbox lists: the purge job keeps about this many anyway. */
const LISTED = 500;

/** A piece of a plain-text body: text as written, or a link to show as one. */
export type BodyPart = { text: string } | { link: string };

const LINK = /https?:\/\/[^\s<>"']+/g;

/** Splits a plain-text body into text and links, so the page can make the links clickable. */
export function linkParts(body: string): BodyPart[] {
  const parts: BodyPart[] = [];
  let last = 0;
  for (const match of body.matchAll(LINK)) {
    // A sentence's full stop or closing bracket after a link is not part of it.
    const link = match[0].replace(/[.,;:!?)\]]+$/, '');
    if (match.index > last) parts.push({ text: body.slice(last, match.index) });
    parts.push({ link });
    last = match.index + link.length;
  }
  if (last < body.length) parts.push({ text: body.slice(last) });
  return parts;
}

/** Whether this instance keeps its mail in the development outbox (no SMTP, not production). */
export function outboxServed(ctx: AppContext): boolean {
  return ctx.config.nodeEnv !== 'production' && !ctx.config.smtpUrl;
}

const asJson = (mail: OutboxMail) => ({
  id: mail.id,
  to: mail.to,
  kind: mail.kind,
  subject: mail.subject,
  text: mail.text,
  html: mail.html,
  created_at: mail.createdAt,
});

/**
 * GET /dev/outbox (a page) and GET /dev/outbox.json (for scripts and tests): the mails a
 * development instance kept instead of sending, newest first. Never registered in production
 * or with SMTP set, so both answer 404 there: the outbox holds other people's codes and links.
 */
export function registerDevOutbox(app: FastifyInstance, ctx: AppContext): void {
  if (!outboxServed(ctx)) return;
  app.get('/dev/outbox', { config: { page: true } }, async (request, reply) => {
    const mails = await ctx.store.outbox.list(LISTED);
    return sendPage(ctx, request, reply, 'dev-outbox', {
      title: 'Development outbox',
      mails: mails.map((m) => ({
        to: m.to,
        subject: m.subject,
        kind: m.kind,
        sentAt: formatTime(m.createdAt),
        parts: linkParts(m.text),
      })),
    });
  });
  app.get('/dev/outbox.json', async (_request, reply) => {
    const mails = await ctx.store.outbox.list(LISTED);
    return reply.header('cache-control', 'no-store').send({ mails: mails.map(asJson) });
  });
}
