import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser, signInBrowser } from '../helpers/oauth.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

/** Strings mail libraries read as a name and an address, or as a list: refused everywhere. */
const HOSTILE = ['victim.corp.com<evil@x.y>', 'x,evil@x.y', 'x@example.com;evil@x.y'];
const MESSAGE = 'must be one address, without spaces or any of';

describe('one bare address, at sign-up, in the API and on the account page', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_SIGNUP_MAX_PER_IP: '1000' },
    });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('refuses them on the sign-up page with 400 naming the field', async () => {
    for (const [i, email] of HOSTILE.entries()) {
      const browser = new Browser(server.url);
      const page = await browser.submit(
        await browser.get('/signup'),
        {
          Username: `hostile${i}x${Date.now() % 1e5}`,
          Email: email,
          Password: 'correct horse battery',
        },
        'Create account',
      );
      expect(page.status, email).toBe(400);
      expect(page.text).toMatch(new RegExp(`role="alert"[^>]*>Email ${MESSAGE}`));
    }
  });

  it('refuses them at POST /api/users and /api/otp/send with 400 naming the field', async () => {
    for (const email of HOSTILE) {
      const created = await fetch(`${server.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: `h${Date.now()}`,
          email,
          password: 'correct horse battery',
        }),
      });
      expect(created.status, email).toBe(400);
      const body = (await created.json()) as { field?: string; error_description?: string };
      expect(body.field).toBe('email');
      expect(body.error_description).toContain(MESSAGE);
      const otp = await fetch(`${server.url}/api/otp/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
      expect(otp.status, email).toBe(400);
      expect(((await otp.json()) as { error_description?: string }).error_description).toContain(
        'email',
      );
    }
    expect(smtp.mails.flatMap((m) => m.rcptTo)).not.toContain('evil@x.y');
  });

  it('refuses them on the account page with 400, keeping the address as it was', async () => {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    for (const email of HOSTILE) {
      const page = await browser.submit(
        await browser.get('/account/edit'),
        { Email: email },
        'Save changes',
      );
      expect(page.status, email).toBe(400);
      expect(page.text).toMatch(new RegExp(`role="alert"[^>]*>Email ${MESSAGE}`));
    }
    expect(await ctx.store.users.findById(user.id)).toMatchObject({
      email: user.email,
      pendingEmail: null,
    });
  });
});
