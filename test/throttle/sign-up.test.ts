import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { postJson } from '../helpers/oauth.js';
import { alertOf, BrowserAt, expectRetryAfter, freshIp, frozenDate } from './helpers.js';

let count = 0;
const person = () => {
  count += 1;
  return { username: `grace${count}`, email: `grace${count}@example.com` };
};
const PASSWORD = 'correct horse battery';
const time = frozenDate();

describe('sign-up limits per address', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: {
        TESSERA_TRUST_PROXY: 'loopback',
        TESSERA_SIGNUP_MAX_PER_IP: '3',
        TESSERA_SIGNUP_WINDOW_SECONDS: '600',
      },
    });
  });
  afterAll(async () => server.close());

  const viaPage = async (ip: string) => {
    const browser = new BrowserAt(server.url, ip);
    const who = person();
    const form = await browser.get('/signup');
    return browser.submit(
      form,
      { Username: who.username, Email: who.email, Password: PASSWORD, 'First name': 'Grace' },
      'Create account',
    );
  };
  const viaApi = (ip: string, body: Record<string, string> = person()) =>
    postJson(server.url, '/api/users', { ...body, password: PASSWORD }, { 'x-forwarded-for': ip });

  it('counts the page and POST /api/users together, failed attempts too, and answers 429 with Retry-After until the window ends', async () => {
    const ip = freshIp();
    expect((await viaPage(ip)).status).toBe(303);
    // A refused attempt (bad e-mail) counts too: each one is a try at the form.
    expect((await viaApi(ip, { username: 'x-bad-email', email: 'no' })).status).toBe(400);
    expect((await viaApi(ip)).status).toBe(201);

    const api = await viaApi(ip);
    expect(expectRetryAfter(api, 600)).toBe(600);
    expect(api.body).toEqual({
      error: 'too_many_requests',
      error_description: expect.stringMatching(/^too many sign-ups from this address/),
    });
    expect(api.headers.get('cache-control')).toContain('no-store');

    const page = await viaPage(ip);
    expect(expectRetryAfter(page, 600)).toBe(600);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(alertOf(page)).toBe('Too many sign-ups from your network. Try again in 10 minutes.');
    expect(page.text).toContain('value="Grace"');
    expect(page.text).not.toContain(PASSWORD);

    // Another address is not held back.
    expect((await viaApi(freshIp())).status).toBe(201);
    time.pass(599);
    expect((await viaApi(ip)).status).toBe(429);
    time.pass(1);
    expect((await viaApi(ip)).status).toBe(201);
  });

  it('creates nothing while refusing', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await viaApi(ip);
    const who = person();
    expect((await viaApi(ip, who)).status).toBe(429);
    expect(await server.app.tessera.store.users.findByLogin(who.username)).toBeUndefined();
  });
});
