import type { FastifyInstance } from 'fastify';

/** Bodies larger than this are refused with 413 before they are read in full. */
export const BODY_LIMIT = 64 * 1024;

export type FormBody = Record<string, string | string[]>;

/**
 * application/x-www-form-urlencoded, with repeated names kept as arrays so
 * that protocol code can refuse them (RFC 6749 §3.1: no parameter twice).
 */
export function parseForm(text: string): FormBody {
  const out: FormBody = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

export function registerBodyParsers(app: FastifyInstance): void {
  // Tessera takes forms and JSON only; any other body is a 415, not a string for a handler to misread.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_request, body, done) => done(null, parseForm(body as string)),
  );
}
