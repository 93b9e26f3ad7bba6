import type { FastifyReply } from 'fastify';

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * A wait as a person reads it, rounded up so that they never come back too soon.
 *
 * @example waitInWords(900) // '15 minutes'
 */
export function waitInWords(seconds: number): string {
  if (seconds < 60) return plural(seconds, 'second');
  if (seconds < 3600) return plural(Math.ceil(seconds / 60), 'minute');
  return plural(Math.ceil(seconds / 3600), 'hour');
}

/** The form message for a password check refused by the sign-in limits. */
export const tooManyFailures = (seconds: number): string =>
  `Too many failed attempts. Try again in ${waitInWords(seconds)}.`;

/** Marks a page answer as refused by an abuse limit: 429 comes with it. */
export function retryAfter(reply: FastifyReply, seconds: number): FastifyReply {
  return reply.header('retry-after', String(seconds));
}
