import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { signedInIdentity } from '../helpers/identity.js';

describe('the front door, GET /', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => app.close());

  it('sends a signed-in person to their account', async () => {
    const { cookie } = await signedInIdentity(app);
    const res = await app.inject({ method: 'GET', url: '/', headers: { cookie } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account');
  });

  it('sends anyone else to sign in, a stale session cookie too', async () => {
    for (const headers of [{}, { cookie: 'tessera_session=no-such-session' }]) {
      const res = await app.inject({ method: 'GET', url: '/', headers });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/login');
    }
  });
});
