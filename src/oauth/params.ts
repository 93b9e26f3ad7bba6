import { InvalidRequest } from './errors.js';

/** Request parameters as parsed from a query string, a form body or a JSON body. */
export type RawParams = Record<string, unknown>;

/** Longest value we accept for any single parameter. */
const MAX_LENGTH = 4096;

/**
 * One parameter's value: undefined when absent or empty (RFC 6749 §3.1: "parameters
 * sent without a value MUST be treated as if they were omitted"). A parameter sent
 * twice, or that is not a string, is an invalid_request.
 */
export function param(params: RawParams | undefined, name: string): string | undefined {
  const value = params?.[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value))
    throw new InvalidRequest(`parameter "${name}" must not be sent more than once`);
  if (typeof value !== 'string') {
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new InvalidRequest(`parameter "${name}" must be a string`);
  }
  if (value.length > MAX_LENGTH) throw new InvalidRequest(`parameter "${name}" is too long`);
  return value;
}

export function requireParam(params: RawParams | undefined, name: string): string {
  const value = param(params, name);
  if (value === undefined) throw new InvalidRequest(`parameter "${name}" is required`);
  return value;
}

/** The body as parameters: forms and JSON objects are accepted; anything else is refused. */
export function bodyParams(body: unknown): RawParams {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequest(
      'the body must be a form (application/x-www-form-urlencoded) or a JSON object',
    );
  }
  return body as RawParams;
}
