import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { presentedClientId } from '../../src/oauth/client-id.js';
import { JWT_BEARER, unsignedJwt } from '../helpers/client-jwt.js';

const request = (body: Record<string, unknown>, authorization?: string) =>
  ({ headers: authorization ? { authorization } : {}, body }) as unknown as FastifyRequest;

/**
 * Whom a failed client request is counted against (the abuse limits, http/rate-limit.ts): a
 * client that authenticates with an assertion, or a service account's JWT bearer grant without
 * client credentials, is counted as itself, so guessing at its assertions is throttled too.
 */
describe('presentedClientId', () => {
  it('reads the sub of a client assertion', () => {
    const assertion = unsignedJwt({ iss: 'svc', sub: 'svc' });
    expect(presentedClientId(request({ client_assertion: assertion }))).toBe('svc');
    expect(presentedClientId(request({ client_id: 'named', client_assertion: assertion }))).toBe(
      'named',
    );
  });

  it('reads the iss of a JWT bearer grant assertion, for that grant only', () => {
    const assertion = unsignedJwt({ iss: 'svc', sub: 'person' });
    expect(presentedClientId(request({ grant_type: JWT_BEARER, assertion }))).toBe('svc');
    expect(presentedClientId(request({ grant_type: 'other', assertion }))).toBeUndefined();
  });

  it('names nobody for garbage or oversized assertions', () => {
    expect(presentedClientId(request({ client_assertion: 'not a jwt' }))).toBeUndefined();
    const long = unsignedJwt({ sub: 'x'.repeat(300) });
    expect(presentedClientId(request({ client_assertion: long }))).toBeUndefined();
  });

  it('takes a metadata document URL up to 1,024 characters, other ids up to 200', () => {
    const url = `https://agent.example.com/${'a'.repeat(400)}/client.json`;
    expect(presentedClientId(request({ client_id: url }))).toBe(url);
    const tooLong = `https://agent.example.com/${'a'.repeat(1_100)}`;
    expect(presentedClientId(request({ client_id: tooLong }))).toBeUndefined();
    expect(presentedClientId(request({ client_id: 'x'.repeat(300) }))).toBeUndefined();
  });
});
