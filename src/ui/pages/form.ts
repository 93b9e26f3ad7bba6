import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../../domain/errors.js';

/** The named fields of a form POST, each a string or absent. */
export type FormFields<K extends string> = Record<K, string | undefined>;

/**
 * Reads `names` from the form body. A name sent twice, or a value that is not
 * text (a JSON body posted to a page), is refused with a 400: a form we serve
 * never does either, and guessing which value was meant is how parameter
 * pollution bugs start.
 */
export function readForm<K extends string>(
  request: FastifyRequest,
  names: readonly K[],
): FormFields<K> {
  const body = request.body;
  const source = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const out = {} as FormFields<K>;
  for (const name of names) {
    const value = Object.hasOwn(source, name) ? source[name] : undefined;
    if (Array.isArray(value)) throw new ValidationError(name, `${name} was sent more than once`);
    if (value !== undefined && typeof value !== 'string') {
      throw new ValidationError(name, `${name} must be text`);
    }
    out[name] = value;
  }
  return out;
}

/** A query parameter when it was sent once, as text. */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  const query = request.query;
  if (query === null || typeof query !== 'object') return undefined;
  const value = (query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
