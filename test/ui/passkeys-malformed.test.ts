import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { passkeyFlows, postJson } from '../helpers/passkey-flows.js';

describe('passkey endpoints given what their script never sends', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server?.close());
  const { signedIn, atLogin } = passkeyFlows(() => ({ server, ctx }));

  it('answers malformed requests with 400 invalid_request or 403, never a 500', async () => {
    const { browser, csrf } = await signedIn();
    const login = await atLogin();
    const bodies: [string, unknown][] = [
      ['not json', '{"_csrf": '],
      ['no credential', { _csrf: login.csrf }],
      ['credential a string', { _csrf: login.csrf, credential: 'x' }],
      ['credential an array', { _csrf: login.csrf, credential: [] }],
      [
        'id not base64url',
        {
          _csrf: login.csrf,
          credential: { id: 'a+b', rawId: 'a+b', type: 'public-key', response: {} },
        },
      ],
      [
        'rawId not the id',
        {
          _csrf: login.csrf,
          credential: { id: 'ab', rawId: 'cd', type: 'public-key', response: {} },
        },
      ],
      [
        'wrong type',
        {
          _csrf: login.csrf,
          credential: { id: 'ab', rawId: 'ab', type: 'password', response: {} },
        },
      ],
      [
        'response missing',
        { _csrf: login.csrf, credential: { id: 'ab', rawId: 'ab', type: 'public-key' } },
      ],
      [
        'signature a number',
        {
          _csrf: login.csrf,
          credential: {
            id: 'ab',
            rawId: 'ab',
            type: 'public-key',
            response: { clientDataJSON: 'ab', authenticatorData: 'ab', signature: 5 },
          },
        },
      ],
    ];
    for (const [what, body] of bodies) {
      for (const path of ['/login/passkey', '/login/second-factor/passkey']) {
        const answer = await postJson(login.browser, path, body);
        expect([400, 401], `${what} at ${path}`).toContain(answer.status);
        expect(['invalid_request', 'invalid_passkey'], `${what} at ${path}`).toContain(
          answer.body.error,
        );
      }
    }
    // Well-formed, but nonsense for the library: still a named 400.
    const nonsense = await postJson(login.browser, '/login/passkey/options', { _csrf: login.csrf });
    expect(nonsense.status).toBe(200);
    const garbage = await postJson(login.browser, '/login/passkey', {
      _csrf: login.csrf,
      credential: {
        id: 'ab',
        rawId: 'ab',
        type: 'public-key',
        response: { clientDataJSON: 'ab', authenticatorData: 'ab', signature: 'ab' },
      },
    });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error).toBe('invalid_passkey');
    await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    const badAttestation = await postJson(browser, '/account/passkeys', {
      _csrf: csrf,
      name: 'x',
      credential: {
        id: 'ab',
        rawId: 'ab',
        type: 'public-key',
        response: { clientDataJSON: 'ab', attestationObject: 'ab' },
      },
    });
    expect(badAttestation.status).toBe(400);
    expect(badAttestation.body.error).toBe('invalid_passkey');
    const badTransports = await postJson(browser, '/account/passkeys', {
      _csrf: csrf,
      name: 'x',
      credential: {
        id: 'ab',
        rawId: 'ab',
        type: 'public-key',
        response: { clientDataJSON: 'ab', attestationObject: 'ab', transports: 'usb' },
      },
    });
    expect(badTransports.body).toMatchObject({
      error: 'invalid_request',
      field: 'credential.response.transports',
    });

    // Without the CSRF token: refused before anything else.
    for (const path of [
      '/login/passkey/options',
      '/login/passkey',
      '/account/passkeys/options',
      '/account/passkeys',
    ]) {
      const answer = await postJson(browser, path, {});
      expect(answer.status, path).toBe(403);
    }
  });
});
