import { describe, expect, it } from 'vitest';
import { renderView } from '../../src/ui/render.js';
import { fieldNameByLabel, readForms } from '../helpers/browser.js';

const page = { base: '/tenant', title: 'Two-factor authentication', csrf: 'token-123' };

describe('two-factor page templates', () => {
  it('the second step asks for a Code with a Verify button, and no passkey without passkeys', () => {
    const html = renderView('second-factor', { ...page, totp: true, passkeys: 0 });
    expect(fieldNameByLabel(html, 'Code')).toBe('code');
    const [form] = readForms(html, 'http://localhost/tenant/login/second-factor');
    expect(form?.action).toBe('http://localhost/tenant/login/second-factor');
    expect(form?.buttons.map((b) => b.label)).toEqual(['Verify']);
    expect(form?.fields._csrf).toBe('token-123');
    expect(html).not.toContain('passkey-second-factor');
    expect(html).not.toContain('passkeys.js');
  });

  it('offers "Use a passkey" with its script to a person with passkeys, beside the code or alone', () => {
    for (const totp of [true, false]) {
      const html = renderView('second-factor', { ...page, totp, passkeys: 2 });
      expect(html).toMatch(
        /<button type="button" id="passkey-second-factor"[^>]*>Use a passkey<\/button>/,
      );
      expect(html).toContain('<script src="/tenant/assets/passkeys.js" defer></script>');
      expect(fieldNameByLabel(html, 'Code') !== undefined).toBe(totp);
    }
  });

  it('the account section links to the set-up when off, and has both forms when on', () => {
    const off = renderView('account-two-factor', {
      ...page,
      totp: { on: false, recoveryCodesLeft: 0 },
    });
    expect(off).toContain(
      '<a class="button-link" href="/tenant/account/two-factor">Set up an authenticator app</a>',
    );
    expect(readForms(off, 'http://localhost/')).toEqual([]);
    const on = renderView('account-two-factor', {
      ...page,
      totp: { on: true, recoveryCodesLeft: 7 },
      totpOffError: { message: 'That password or code is not right.', field: 'confirmation' },
    });
    expect(on).toContain('7 of 10 recovery codes left');
    const labels = readForms(on, 'http://localhost/').map((f) => f.buttons[0]?.label);
    expect(labels).toEqual(['Get new recovery codes', 'Turn off two-factor authentication']);
    expect(on).toMatch(
      /id="totp-off-confirmation"[^>]*aria-invalid="true" aria-describedby="totp-off-error"/,
    );
    expect(on).not.toMatch(/id="recovery-codes-confirmation"[^>]*aria-invalid/);
  });
});
