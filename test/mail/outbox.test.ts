import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { purgeOnce } from '../../src/jobs/purge.js';
import { linkParts } from '../../src/ui/pages/dev-outbox.js';
import { testApp } from '../helpers/app.js';
import { captureLog } from '../helpers/log.js';

describe('the development outbox', () => {
  const apps: FastifyInstance[] = [];
  const open = async (env: Record<string, string>, logger?: ReturnType<typeof captureLog>) => {
    const app = await testApp({ env, ...(logger ? { logger: logger.logger } : {}) });
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('keeps mail in the database without SMTP, lists it newest first as a page and as JSON, and logs one line per mail', async () => {
    const log = captureLog('info');
    const app = await open({ NODE_ENV: 'development', TESSERA_SITE_NAME: 'Example ID' }, log);
    const mail = app.tessera.mail;
    mail.send('ada@example.com', 'password-reset', {
      link: 'http://localhost:9000/reset?token=a&b=c',
      minutes: 30,
    });
    await mail.drain();
    mail.send('bob@example.com', 'otp-code', { code: '424242', minutes: 10 });
    await mail.drain();

    const kept = log.lines.filter((l) =>
      String(l.msg).startsWith('mail kept in the development outbox'),
    );
    expect(kept).toHaveLength(2);
    expect(kept[0]?.msg).toBe(
      'mail kept in the development outbox: open http://localhost:9000/dev/outbox',
    );
    // Never the body: it holds codes and links.
    expect(JSON.stringify(log.lines)).not.toContain('424242');

    const json = await app.inject({ method: 'GET', url: '/dev/outbox.json' });
    expect(json.statusCode).toBe(200);
    const { mails } = json.json() as { mails: Record<string, unknown>[] };
    expect(mails.map((m) => m.to)).toEqual(['bob@example.com', 'ada@example.com']);
    expect(mails[0]).toMatchObject({
      kind: 'otp-code',
      subject: 'Example ID: Your code: 424242',
      text: expect.stringContaining('424242'),
      html: expect.stringContaining('424242'),
      created_at: expect.any(Number),
    });

    const page = await app.inject({ method: 'GET', url: '/dev/outbox' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const html = page.body;
    expect(html.indexOf('bob@example.com')).toBeLessThan(html.indexOf('ada@example.com'));
    expect(html).toContain('Example ID: Reset your password');
    expect(html).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // The link in the body is clickable, and escaped like everything else.
    const escaped = 'http://localhost:9000/reset?token=a&amp;b=c';
    expect(html).toContain(`<a href="${escaped}">${escaped}</a>`);
  });

  it('shows an empty outbox as such', async () => {
    const app = await open({ NODE_ENV: 'development' });
    const page = await app.inject({ method: 'GET', url: '/dev/outbox' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('No mail yet.');
    expect((await app.inject({ method: 'GET', url: '/dev/outbox.json' })).json()).toEqual({
      mails: [],
    });
  });

  it.each([
    ['in production', { NODE_ENV: 'production', TESSERA_SMTP_URL: 'smtp://127.0.0.1:9' }],
    ['with SMTP set', { NODE_ENV: 'development', TESSERA_SMTP_URL: 'smtp://127.0.0.1:9' }],
  ])('answers 404 %s, page and JSON alike', async (_when, env) => {
    const app = await open(env);
    for (const url of ['/dev/outbox', '/dev/outbox.json']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
  });

  it('is purged by the purge job: mails older than a week go', async () => {
    let now = Date.UTC(2026, 0, 1);
    const app = await testApp({ env: { NODE_ENV: 'development' }, clock: { now: () => now } });
    apps.push(app);
    app.tessera.mail.send('ada@example.com', 'otp-code', { code: '111111', minutes: 10 });
    await app.tessera.mail.drain();
    now += 7 * 86_400_000;
    expect((await purgeOnce(app.tessera)).mailOutbox).toBe(0);
    now += 1_000;
    expect((await purgeOnce(app.tessera)).mailOutbox).toBe(1);
    expect(await app.tessera.store.outbox.list(10)).toEqual([]);
  });
});

describe('linkParts', () => {
  it('makes links of http(s) URLs, leaving a sentence’s punctuation and anything after "<" as text', () => {
    expect(linkParts('Open https://a.example/x?y=1. Or (http://b.example/z) <c>')).toEqual([
      { text: 'Open ' },
      { link: 'https://a.example/x?y=1' },
      { text: '. Or (' },
      { link: 'http://b.example/z' },
      { text: ') <c>' },
    ]);
    expect(linkParts('no link, javascript:alert(1)')).toEqual([
      { text: 'no link, javascript:alert(1)' },
    ]);
  });
});
