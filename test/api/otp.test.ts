import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { checkCode, issueCode } from '../../src/domain/email-codes.js';
import { fold } from '../../src/lib/fold.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { makeUser, postJson, postRaw } from '../helpers/oauth.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { expectRetryAfter, frozenDate } from '../throttle/helpers.js';

const time = frozenDate();
let count = 0;
const freshAddress = () => {
  count += 1;
  return `nobody${count}-${Date.now()}@example.com`;
};

/** The 6-digit code of a mail. */
const codeIn = (text: string): string => {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error(`no code in ${text}`);
  return code;
};
/** A 6-digit code that is not `code`. */
const wrong = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('one-time codes API (POST /api/otp/send, /api/otp/verify)', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    smtp = await startSmtp();
    // The per-client-address limits have their own server below: here every request is from one.
    server = await startServer({
      env: {
        TESSERA_SMTP_URL: smtp.url,
        TESSERA_EMAIL_CODE_SENDS_PER_IP: '1000',
        TESSERA_EMAIL_CODE_VERIFIES_PER_IP: '1000',
      },
    });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const send = (email: string, path = '/api/otp/send') => postJson(server.url, path, { email });
  const verify = (email: string, code: string, path = '/api/otp/verify') =>
    postJson(server.url, path, { email, code });
  const account = async () => (await makeUser(ctx)).user;
  const sendAndRead = async (email: string) => {
    expect((await send(email)).status).toBe(202);
    return codeIn((await smtp.next(email)).text);
  };

  it('mails a code to an account’s address; the code verifies the address once', async () => {
    const user = await account();
    expect(user.emailVerified).toBe(false);
    const sent = await send(user.email);
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ status: 'sent', expires_in: 600 });
    expect(sent.headers.get('cache-control')).toContain('no-store');
    const code = codeIn((await smtp.next(user.email)).text);

    const ok = await verify(user.email, code);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ verified: true });
    expect((await ctx.store.users.findById(user.id))?.emailVerified).toBe(true);

    const again = await verify(user.email, code);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_code');
  });

  it('answers an address without an account exactly as one with, and mails nothing', async () => {
    const user = await account();
    const nobody = freshAddress();
    const known = await send(user.email);
    const unknown = await send(nobody);
    expect(unknown.status).toBe(known.status);
    expect(unknown.text).toBe(known.text);
    expect(unknown.headers.get('content-type')).toBe(known.headers.get('content-type'));
    await ctx.mail.drain();
    await smtp.next(user.email);
    expect(smtp.to(nobody)).toEqual([]);
    // Its limits are the same too, so a 429 says nothing either.
    expectRetryAfter(await send(nobody), 60);
    // No code typed for it can verify anything.
    expect((await verify(nobody, '123456')).body.error).toBe('invalid_code');
  });

  it('counts five tries: the 5th may still be right, each wrong one says how many are left', async () => {
    const user = await account();
    const code = await sendAndRead(user.email);
    for (let left = 4; left >= 1; left--) {
      const miss = await verify(user.email, wrong(code));
      expect(miss.status).toBe(400);
      expect(miss.body).toEqual({
        error: 'invalid_code',
        error_description: `the code is not right: ${left} ${left === 1 ? 'try' : 'tries'} left`,
      });
    }
    expect((await verify(user.email, code)).status).toBe(200);
  });

  it('refuses the 6th try, right or wrong, with 429 too_many_attempts and when to ask again', async () => {
    const user = await account();
    const code = await sendAndRead(user.email);
    for (let i = 0; i < 5; i++) expect((await verify(user.email, wrong(code))).status).toBe(400);
    time.pass(20);
    const sixth = await verify(user.email, code);
    expect(expectRetryAfter(sixth, 60)).toBe(40);
    expect(sixth.body.error).toBe('too_many_attempts');
    expect((await verify(user.email, wrong(code))).body.error).toBe('too_many_attempts');
    expect((await ctx.store.users.findById(user.id))?.emailVerified).toBe(false);
    // A new code has five tries of its own, but wrong codes count across codes: ten a day.
    time.pass(40);
    const fresh = await sendAndRead(user.email);
    for (let i = 6; i <= 9; i++) expect((await verify(user.email, wrong(fresh))).status).toBe(400);
    const tenth = await verify(user.email, wrong(fresh));
    expect(tenth.status).toBe(400);
    expect(tenth.body.error).toBe('invalid_code');
  });

  it('refuses every code for an address after ten wrong ones across codes, for a day from the first', async () => {
    const user = await account();
    const first = await sendAndRead(user.email);
    for (let i = 1; i <= 5; i++) expect((await verify(user.email, wrong(first))).status).toBe(400);
    time.pass(60);
    const second = await sendAndRead(user.email);
    for (let i = 6; i <= 9; i++) expect((await verify(user.email, wrong(second))).status).toBe(400);
    // The 10th wrong code is still answered as wrong…
    expect((await verify(user.email, wrong(second))).body.error).toBe('invalid_code');
    time.pass(60);
    const third = await sendAndRead(user.email);
    // …the 11th try is refused even with the right code, until a day after the first failure.
    const eleventh = await verify(user.email, third);
    expect(expectRetryAfter(eleventh, 86_400)).toBe(86_400 - 120);
    expect(eleventh.body.error).toBe('too_many_attempts');
    expect((await ctx.store.users.findById(user.id))?.emailVerified).toBe(false);
    time.pass(86_400 - 121);
    expect(expectRetryAfter(await verify(user.email, third), 86_400)).toBe(1);
    time.pass(1);
    const next = await sendAndRead(user.email);
    expect((await verify(user.email, next)).status).toBe(200);
  });

  it('starts the count of wrong codes again after a right one', async () => {
    const user = await account();
    const first = await sendAndRead(user.email);
    for (let i = 1; i <= 4; i++) expect((await verify(user.email, wrong(first))).status).toBe(400);
    time.pass(60);
    const second = await sendAndRead(user.email);
    for (let i = 5; i <= 9; i++) expect((await verify(user.email, wrong(second))).status).toBe(400);
    time.pass(60);
    const third = await sendAndRead(user.email);
    expect((await verify(user.email, third)).status).toBe(200);
    time.pass(60);
    const fourth = await sendAndRead(user.email);
    // Without the reset these would be the 10th to 14th failures: refused from the 11th on.
    for (let i = 1; i <= 5; i++) {
      expect((await verify(user.email, wrong(fourth))).body.error).toBe('invalid_code');
    }
  });

  it('gives ten concurrent wrong guesses no more than five tries between them', async () => {
    const user = await account();
    const code = await sendAndRead(user.email);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => verify(user.email, wrong(code))),
    );
    expect(answers.filter((a) => a.status === 400)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(5);
    expect((await verify(user.email, code)).status).toBe(429);
  });

  it('counts wrong codes per address whatever the purpose: the API and sign-in codes share the ten', async () => {
    const user = await account();
    const key = fold(user.email);
    const first = await sendAndRead(user.email);
    for (let i = 1; i <= 5; i++) expect((await verify(user.email, wrong(first))).status).toBe(400);
    time.pass(60);
    const second = await sendAndRead(user.email);
    for (let i = 6; i <= 9; i++) expect((await verify(user.email, wrong(second))).status).toBe(400);
    // A sign-in code for the same address: its first wrong try is the 10th, the next is refused.
    const signIn = await issueCode(ctx, 'sign_in', key, user.id);
    if (!('code' in signIn)) throw new Error('no sign-in code');
    expect((await checkCode(ctx, 'sign_in', key, wrong(signIn.code))).status).toBe('wrong');
    expect(await checkCode(ctx, 'sign_in', key, signIn.code)).toMatchObject({ status: 'locked' });
  });

  it('gives concurrent wrong guesses at the edge of the ten no more than the tenth between them', async () => {
    const user = await account();
    const first = await sendAndRead(user.email);
    for (let i = 1; i <= 5; i++) expect((await verify(user.email, wrong(first))).status).toBe(400);
    time.pass(60);
    const second = await sendAndRead(user.email);
    for (let i = 6; i <= 9; i++) expect((await verify(user.email, wrong(second))).status).toBe(400);
    time.pass(60);
    const third = await sendAndRead(user.email);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => verify(user.email, wrong(third))),
    );
    expect(answers.filter((a) => a.status === 400)).toHaveLength(1);
    expect(answers.filter((a) => a.body.error === 'too_many_attempts')).toHaveLength(4);
  });

  it('keeps a code 10 minutes: right at 599 seconds, expired at 600', async () => {
    const early = await account();
    const late = await account();
    const earlyCode = await sendAndRead(early.email);
    const lateCode = await sendAndRead(late.email);
    time.pass(599);
    expect((await verify(early.email, earlyCode)).status).toBe(200);
    time.pass(1);
    const expired = await verify(late.email, lateCode);
    expect(expired.status).toBe(400);
    expect(expired.body).toEqual({
      error: 'invalid_code',
      error_description: 'the code has expired: ask for a new one',
    });
  });

  it('sends again after a minute, not before: refused at 59 seconds, sent at 60', async () => {
    const user = await account();
    const first = await sendAndRead(user.email);
    const soon = await send(user.email);
    expect(expectRetryAfter(soon, 60)).toBe(60);
    expect(soon.body.error).toBe('too_many_requests');
    time.pass(59);
    expect(expectRetryAfter(await send(user.email), 60)).toBe(1);
    time.pass(1);
    const second = await sendAndRead(user.email);
    // The new code replaces the old one.
    expect((await verify(user.email, first)).status).toBe(first === second ? 200 : 400);
    if (first !== second) expect((await verify(user.email, second)).status).toBe(200);
  });

  it('sends five codes an hour: the 6th is refused until the hour is over', async () => {
    const user = await account();
    for (let i = 0; i < 5; i++) {
      await sendAndRead(user.email);
      time.pass(60);
    }
    // 300 seconds after the first send.
    expect(expectRetryAfter(await send(user.email), 3600)).toBe(3300);
    time.pass(3299);
    expect(expectRetryAfter(await send(user.email), 3600)).toBe(1);
    time.pass(1);
    expect((await send(user.email)).status).toBe(202);
  });

  it('answers seed 004’s paths: /auth/send-otp, /auth/resend-otp, /auth/verify-otp', async () => {
    const user = await account();
    expect((await send(user.email, '/auth/send-otp')).status).toBe(202);
    await smtp.next(user.email);
    expectRetryAfter(await send(user.email, '/auth/resend-otp'), 60);
    time.pass(60);
    expect((await send(user.email, '/auth/resend-otp')).status).toBe(202);
    const code = codeIn((await smtp.next(user.email)).text);
    const seed = await postJson(server.url, '/auth/verify-otp', { email: user.email, otp: code });
    expect(seed.body).toEqual({ verified: true });
  });

  it('mails nothing for an address that accounts only wait for: pending addresses verify on /verify-email', async () => {
    const [one, two] = [await account(), await account()];
    const next = `moved-${one.username}@example.com`;
    await ctx.store.users.update(one.id, { pendingEmail: next }, 1);
    await ctx.store.users.update(two.id, { pendingEmail: next }, 1);
    const sent = await send(next);
    expect(sent.status).toBe(202);
    await ctx.mail.drain();
    expect(smtp.to(next)).toEqual([]);
    expect((await verify(next, '123456')).body.error).toBe('invalid_code');
    for (const u of [one, two]) {
      expect(await ctx.store.users.findById(u.id)).toMatchObject({
        email: u.email,
        pendingEmail: next,
      });
    }
  });

  it('refuses malformed requests with invalid_request naming the field, never a 500', async () => {
    const cases: [string, string | undefined, string, number, string | undefined][] = [
      ['/api/otp/send', 'application/json', '{"email":', 400, undefined],
      ['/api/otp/send', 'text/plain', '{"email":"a@example.com"}', 415, undefined],
      ['/api/otp/send', undefined, 'email=a@example.com', 415, undefined],
      ['/api/otp/send', 'application/json', '{}', 400, 'email'],
      ['/api/otp/send', 'application/json', '{"email":42}', 400, 'email'],
      ['/api/otp/send', 'application/json', '{"email":"not-an-address"}', 400, 'email'],
      ['/api/otp/send', 'application/json', `{"email":"${'a'.repeat(250)}@x.io"}`, 400, 'email'],
      ['/api/otp/send', 'application/json', '[]', 400, undefined],
      ['/api/otp/verify', 'application/json', '{"email":"a@example.com"}', 400, 'code'],
      ['/api/otp/verify', 'application/json', '{"code":"123456"}', 400, 'email'],
      [
        '/api/otp/verify',
        'application/json',
        `{"email":"a@example.com","code":"${'1'.repeat(33)}"}`,
        400,
        'code',
      ],
      ['/api/otp/verify', 'application/json', 'null', 400, undefined],
    ];
    for (const [path, type, body, status, field] of cases) {
      const res = await postRaw(server.url, path, body, type);
      expect({ path, body, status: res.status }).toEqual({ path, body, status });
      expect(res.body.error).toBe('invalid_request');
      if (field) expect(res.body.error_description).toContain(field);
    }
    // A code that is not six digits is just a wrong code (and counts as a try).
    const user = await account();
    await sendAndRead(user.email);
    expect((await verify(user.email, 'abc')).body.error).toBe('invalid_code');
  });
});

describe('one-time codes API: limits per client address', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('takes 30 sends an hour from one client address, to any addresses: the 31st gets 429', async () => {
    for (let i = 1; i <= 30; i++) {
      const sent = await postJson(server.url, '/api/otp/send', { email: freshAddress() });
      expect(sent.status, `send ${i}`).toBe(202);
    }
    const refused = await postJson(server.url, '/api/otp/send', { email: freshAddress() });
    expect(expectRetryAfter(refused, 3600)).toBe(3600);
    expect(refused.body).toEqual({
      error: 'too_many_requests',
      error_description:
        'too many codes were asked for from this client address: try again in 3600 seconds',
    });
    time.pass(3600);
    expect((await postJson(server.url, '/api/otp/send', { email: freshAddress() })).status).toBe(
      202,
    );
  });

  it('takes 100 tries an hour from one client address, to any addresses: the 101st gets 429', async () => {
    for (let i = 1; i <= 100; i++) {
      const tried = await postJson(server.url, '/api/otp/verify', {
        email: freshAddress(),
        code: '123456',
      });
      expect(tried.status, `try ${i}`).toBe(400);
    }
    const refused = await postJson(server.url, '/api/otp/verify', {
      email: freshAddress(),
      code: '123456',
    });
    expect(expectRetryAfter(refused, 3600)).toBe(3600);
    expect(refused.body.error).toBe('too_many_attempts');
  });
});
