import { expect } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { Browser, type Page } from './browser.js';
import type { TestSmtp } from './smtp.js';

/** Asks for a reset link on the "Forgot password?" page, as a person does. */
export async function askForLink(base: string, login: string): Promise<Page> {
  const browser = new Browser(base);
  const signIn = await browser.get('/login');
  const href = /<a href="([^"]*)">Forgot password\?<\/a>/.exec(signIn.text)?.[1];
  expect(href).toBe('/forgot-password');
  const form = await browser.get(href!);
  return browser.submit(form, { 'Username or email': login }, 'Send reset link');
}

/** Waits for everything a request left to the background (the link's write and its mail). */
export async function settle(ctx: AppContext): Promise<void> {
  await ctx.background.drain();
  await ctx.mail.drain();
}

/** The reset link of the next mail to `to`. */
export async function linkFromMail(smtp: TestSmtp, to: string): Promise<URL> {
  const mail = await smtp.next(to);
  const link = /https?:\/\/[^\s"'<>]+\/reset-password\?token=[A-Za-z0-9_-]{43}/.exec(mail.text);
  expect(link, mail.text).not.toBeNull();
  return new URL(link![0]);
}

/** Opens a reset link and sets `password` through its form. */
export async function resetWith(
  base: string,
  link: URL,
  password: string,
  confirm = password,
): Promise<Page> {
  const browser = new Browser(base);
  const form = await browser.get(`${link.pathname}${link.search}`);
  expect(form.status, form.text.slice(0, 300)).toBe(200);
  return browser.submit(
    form,
    { 'New password': password, 'Confirm new password': confirm },
    'Change password',
  );
}

/** A page's HTML without what differs on every answer: its CSRF token. */
export const withoutCsrf = (html: string): string =>
  html.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');

export const INVALID = 'This link is no longer valid';
