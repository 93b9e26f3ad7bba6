import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { ValidationError } from '../../src/domain/errors.js';
import { checkPassword, type PasswordOwner } from '../../src/domain/password-policy.js';

const ctx = { config: { passwordMinLength: 10 } };
const ada: PasswordOwner = { username: 'ada_lovelace', email: 'Ada.Lovelace@example.com' };

/** The message checkPassword refuses `password` with; fails the test when it is accepted. */
async function refusal(password: unknown, owner = ada, context = ctx): Promise<string> {
  const error = await checkPassword(context, password, owner).catch((e: unknown) => e);
  expect(error, `accepted ${JSON.stringify(password)}`).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).field).toBe('password');
  return (error as ValidationError).message;
}

const COMMON = /one of the most commonly used passwords/;

describe('the password rule', () => {
  it("refuses the issue's examples: password, 12345678, eight spaces, the username itself", async () => {
    expect(await refusal('password')).toBe('password must be at least 10 characters');
    expect(await refusal('12345678')).toBe('password must be at least 10 characters');
    expect(await refusal('        ')).toBe('password must not be only spaces');
    expect(await refusal('ada_lovelace')).toBe(
      'password must not be the same as the username or email address',
    );
  });

  it('refuses the username, the e-mail address and its local part in any case or Unicode form', async () => {
    const same = 'password must not be the same as the username or email address';
    for (const password of [
      'ADA_LOVELACE',
      ' ada_lovelace ',
      'ａｄａ_ｌｏｖｅｌａｃｅ', // fullwidth: NFKC folds it to the username
      'ada.lovelace@example.com',
      'ADA.LOVELACE@EXAMPLE.COM',
      'ada.lovelace',
      'Ada.Lovelace',
    ]) {
      expect(await refusal(password), password).toBe(same);
    }
    // The username or address inside a longer password is not the username.
    await expect(checkPassword(ctx, 'ada_lovelace wrote the first program', ada)).resolves.toBe(
      'ada_lovelace wrote the first program',
    );
  });

  it('refuses common passwords of 10 characters and more from the list, ignoring case', async () => {
    for (const password of [
      'qwertyuiop',
      '1234567890',
      '1q2w3e4r5t',
      'basketball',
      'BASKETBALL',
      'Password123',
      'iloveyou12',
      'ｑｗｅｒｔｙｕｉｏｐ',
      // Near the end of the list: all of it is read, not a first part.
      '0995359291',
    ]) {
      const message = await refusal(password);
      expect(message, password).toMatch(COMMON);
      expect(message).toMatch(/^This password is one of the most commonly used passwords/);
    }
  });

  it('refuses whitespace of any kind and any length', async () => {
    for (const password of [
      ' '.repeat(10),
      '\t'.repeat(12),
      '\u3000'.repeat(10),
      ' \n '.repeat(5),
    ]) {
      expect(await refusal(password)).toBe('password must not be only spaces');
    }
  });

  it('counts characters as code points, not UTF-16 units', async () => {
    // Nine emoji are eighteen UTF-16 units but nine characters.
    expect(await refusal('🔑'.repeat(9))).toBe('password must be at least 10 characters');
    await expect(checkPassword(ctx, '🔑'.repeat(10), ada)).resolves.toBe('🔑'.repeat(10));
    // The longest accepted is 256 characters, whatever their width.
    await expect(checkPassword(ctx, '𝔸'.repeat(256), ada)).resolves.toHaveLength(512);
    expect(await refusal('𝔸'.repeat(257))).toBe('password must be at most 256 characters');
    expect(await refusal('a'.repeat(257))).toBe('password must be at most 256 characters');
  });

  it('requires a password, as text', async () => {
    for (const password of ['', undefined, null, 1234567890, ['correct horse battery staple']]) {
      expect(await refusal(password)).toBe('password is required');
    }
  });

  it('accepts strong passwords as typed, spaces and case kept', async () => {
    for (const password of [
      'correct horse battery staple',
      'Tr0ub4dor&3 is too clever',
      '  padded passphrase  ',
      'zwölf Boxkämpfer jagen',
      '日本語のパスフレーズです',
      'x9#Lq!v2Wz',
    ]) {
      await expect(checkPassword(ctx, password, ada)).resolves.toBe(password);
    }
    // With no owner known, only the length and the list apply.
    await expect(checkPassword(ctx, 'ada_lovelace', {})).resolves.toBe('ada_lovelace');
  });

  it('refuses 9 characters and accepts 10 by default: the edge of the minimum', async () => {
    const byDefault = { config: parseConfig({}) };
    expect(await refusal('x9#Lq!v2W', ada, byDefault)).toBe(
      'password must be at least 10 characters',
    );
    await expect(checkPassword(byDefault, 'x9#Lq!v2Wz', ada)).resolves.toBe('x9#Lq!v2Wz');
  });

  it('takes its minimum from TESSERA_PASSWORD_MIN_LENGTH, 10 by default and never under 8', async () => {
    expect(parseConfig({}).passwordMinLength).toBe(10);
    const strict = { config: parseConfig({ TESSERA_PASSWORD_MIN_LENGTH: '16' }) };
    expect(await refusal('fifteen chars!!', ada, strict)).toBe(
      'password must be at least 16 characters',
    );
    await expect(checkPassword(strict, 'sixteen chars!!!', ada)).resolves.toBeDefined();
    const lenient = { config: parseConfig({ TESSERA_PASSWORD_MIN_LENGTH: '8' }) };
    await expect(checkPassword(lenient, 'x9#Lq!v2', ada)).resolves.toBe('x9#Lq!v2');
    // Eight characters, but still on the list.
    expect(await refusal('12345678', ada, lenient)).toMatch(COMMON);
    expect(() => parseConfig({ TESSERA_PASSWORD_MIN_LENGTH: '7' })).toThrow(ConfigError);
    expect(() => parseConfig({ TESSERA_PASSWORD_MIN_LENGTH: '7' })).toThrow(
      'TESSERA_PASSWORD_MIN_LENGTH: must be at least 8',
    );
  });

  it('answers many checks at once from one load of the list', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        checkPassword(ctx, i % 2 ? 'qwertyuiop' : `a fine passphrase ${i}`, ada).then(
          () => 'ok',
          () => 'refused',
        ),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 'refused' : 'ok')));
  });
});
