import { describe, expect, it } from 'vitest';
import type { AccountPageData } from '../../src/ui/pages/account-data.js';
import { renderView } from '../../src/ui/render.js';
import { fieldNameByLabel, readForms } from '../helpers/browser.js';

const base: AccountPageData & { base: string } = {
  base: '',
  title: 'Your account',
  csrf: 'token-123',
  signedInAs: 'ada',
  passwordMinLength: 10,
  user: {
    username: 'ada',
    email: 'ada@example.com',
    emailVerified: true,
    pendingEmail: null,
    givenName: null,
    familyName: 'Lovelace',
    phoneNumber: null,
    role: 'admin',
    twoFactor: true,
  },
  grants: [],
  sessions: [],
  totp: { on: false, recoveryCodesLeft: 0 },
  activity: [],
};

describe('account page template', () => {
  it('shows the profile and the password field of "Delete account"', () => {
    const html = renderView('account', base);
    expect(html).toMatch(/<dt>Email verified<\/dt><dd>Yes<\/dd>/);
    expect(html).toMatch(/<dt>Two-factor sign-in<\/dt><dd>On<\/dd>/);
    expect(fieldNameByLabel(html, 'Password')).toBe('password');
  });

  it('renders grants with a "Revoke access" form and sessions with "End session" forms', () => {
    const html = renderView('account', {
      ...base,
      grants: [
        {
          id: 'g1',
          clientName: 'Photos <app>',
          scopes: ['openid', 'email'],
          grantedAt: '2025-01-31 14:05 UTC',
          lastUsedAt: null,
        },
      ],
      sessions: [
        {
          id: 's1',
          current: true,
          browser: 'Firefox on Linux',
          ip: '10.0.0.1',
          startedAt: 'a',
          lastSeenAt: 'b',
        },
        {
          id: 's2',
          current: false,
          browser: 'Unknown browser',
          ip: null,
          startedAt: 'c',
          lastSeenAt: 'd',
        },
      ],
    });
    expect(html).toContain('<h2 id="apps-heading">Connected apps</h2>');
    expect(html).toContain('Photos &lt;app&gt;');
    expect(html).toContain('Firefox on Linux · 10.0.0.1');
    const forms = readForms(html, 'http://localhost/account');
    const byButton = (label: string) =>
      forms.filter((f) => f.buttons.some((b) => b.label === label));

    const [revoke] = byButton('Revoke access');
    expect(revoke).toMatchObject({
      action: 'http://localhost/account/apps/revoke',
      method: 'post',
      fields: { _csrf: 'token-123', grant_id: 'g1' },
    });
    // The current browser's session is ended by signing out, not from this list.
    const end = byButton('End session');
    expect(end).toHaveLength(1);
    expect(end[0]).toMatchObject({
      action: 'http://localhost/account/sessions/end',
      fields: { _csrf: 'token-123', session_id: 's2' },
    });
    expect(byButton('End all other sessions')[0]?.action).toBe(
      'http://localhost/account/sessions/end-all',
    );
  });

  it('puts every link, form and the stylesheet under the issuer path it is given', () => {
    const html = renderView('account', { ...base, base: '/tenant-a' });
    const forms = readForms(html, 'http://localhost/tenant-a/account');
    expect(forms.length).toBeGreaterThan(0);
    for (const form of forms) expect(new URL(form.action).pathname).toMatch(/^\/tenant-a\//);
    const urls = [...html.matchAll(/(?:href|src|action)="([^"]*)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(forms.length);
    for (const url of urls) expect(url).toMatch(/^\/tenant-a\//);
  });

  it('says so when no app has access', () => {
    const html = renderView('account', base);
    expect(html).toContain('No apps have access to your account.');
    expect(html).not.toContain('End all other sessions');
  });
});
