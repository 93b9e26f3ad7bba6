import type { FastifyReply } from 'fastify';
import type { CodeCheck } from '../../domain/email-codes.js';
import { retryAfter, waitInWords } from './too-many.js';

/**
 * What the pages say when an e-mailed code is refused, and with which status: one wording for
 * the sign-in code and the verification code. `refused` sets Retry-After when waiting helps;
 * `wrong` is the status of a wrong, expired or missing code (401 at sign-in, 400 elsewhere).
 */
export function codeRefusal(
  reply: FastifyReply,
  refused: Exclude<CodeCheck, { status: 'ok' }>,
  wrong: 400 | 401,
  missing: string,
): { message: string; status: number } {
  switch (refused.status) {
    case 'wrong': {
      const left = refused.attemptsLeft;
      return {
        message: `That code is not right. You have ${left} ${left === 1 ? 'try' : 'tries'} left.`,
        status: wrong,
      };
    }
    case 'expired':
      return { message: 'That code has expired. Send a new code.', status: wrong };
    case 'missing':
      return { message: missing, status: wrong };
    case 'exhausted':
      retryAfter(reply, refused.retryAfter);
      return {
        message: `That code was tried too many times. Send a new code in ${waitInWords(refused.retryAfter)}.`,
        status: 429,
      };
    case 'locked':
      retryAfter(reply, refused.retryAfter);
      return {
        message: `Too many codes were tried. Try again in ${waitInWords(refused.retryAfter)}.`,
        status: 429,
      };
  }
}
