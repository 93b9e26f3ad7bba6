import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.js';
import { checkEmail } from '../../src/domain/users.js';
import { fold } from '../../src/lib/fold.js';

function refusal(value: unknown): string {
  try {
    checkEmail(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('email');
    return (error as ValidationError).message;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('e-mail addresses', () => {
  it('lower-cases the domain and keeps the local part as typed', () => {
    expect(checkEmail('Alice@EXAMPLE.com')).toBe('Alice@example.com');
    expect(checkEmail('  bob.Smith+tag@Mail.Example.ORG ')).toBe('bob.Smith+tag@mail.example.org');
    expect(checkEmail('anna@bücher.example')).toBe('anna@bücher.example');
    expect(checkEmail('ANNA@BÜCHER.EXAMPLE')).toBe('ANNA@bücher.example');
  });

  it('folds compatibility forms (NFKC): fullwidth letters, ligatures, a fullwidth @', () => {
    expect(checkEmail('ａｌｉｃｅ@example.com')).toBe('alice@example.com');
    expect(checkEmail('alice＠ＥＸＡＭＰＬＥ．ｃｏｍ')).toBe('alice@example.com');
    expect(checkEmail('ﬁnn@example.com')).toBe('finn@example.com');
    // Composed and decomposed accents are one address.
    expect(checkEmail('rene\u0301@example.com')).toBe('ren\u00e9@example.com');
  });

  it('gives every form of one address the same key, which the store keeps unique', () => {
    const forms = [
      'alice@example.com',
      'Alice@EXAMPLE.com',
      'ALICE@example.COM',
      'ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ',
    ];
    expect(new Set(forms.map((f) => fold(checkEmail(f))))).toEqual(new Set(['alice@example.com']));
    // Folding is stable: a stored key folds to itself.
    for (const f of forms) expect(fold(fold(checkEmail(f)))).toBe(fold(checkEmail(f)));
  });

  it('refuses control, zero-width, bidirectional and lone surrogate characters', () => {
    for (const value of [
      'ali\u0000ce@example.com',
      'alice@exa\u0007mple.com',
      'ali\u0085ce@example.com',
      'ali\u200bce@example.com',
      'alice@\u202eexample.com',
      'alice\ufeff@example.com',
      'alice\u00ad@example.com',
      'ali\ud800ce@example.com',
    ]) {
      expect(refusal(value), JSON.stringify(value)).toBe(
        'email must not contain control or invisible characters',
      );
    }
    expect(refusal('alice\n@example.com')).toBe(
      'email must not contain control or invisible characters',
    );
    // Surrounding whitespace is trimmed; inside, a space is simply not part of an address.
    expect(checkEmail(' alice@example.com\r\n')).toBe('alice@example.com');
    expect(refusal('alice smith@example.com')).toMatch(
      /^email must be one address, without spaces/,
    );
  });

  it('refuses what is not an address, and measures the length after folding', () => {
    expect(refusal('')).toBe('email is required');
    expect(refusal('   ')).toBe('email is required');
    expect(refusal(42)).toBe('email is required');
    expect(refusal('no-at-sign.example.com')).toBe('email is not a valid e-mail address');
    expect(refusal('two@at@example.com')).toBe('email is not a valid e-mail address');
    expect(refusal(`${'a'.repeat(243)}@example.com`)).toBe('email must be at most 254 characters');
    // U+FDFA folds to 18 characters.
    expect(refusal(`${'\ufdfa'.repeat(14)}@example.com`)).toBe(
      'email must be at most 254 characters',
    );
  });

  it('refuses a display name, a list, a comment or a quoted part: one bare address only', () => {
    for (const value of [
      'victim.corp.com<evil@x.y>',
      'Victim <evil@x.y>',
      'x,evil@x.y',
      'x@example.com,evil@x.y',
      'x@example.com;evil@x.y',
      'group:evil@x.y;',
      '"x"@example.com',
      'x(comment)@example.com',
      'x@[192.0.2.1]',
      'x\\y@example.com',
    ]) {
      expect(refusal(value), value).toBe(
        'email must be one address, without spaces or any of < > ( ) [ ] \\ , ; : "',
      );
    }
    for (const value of [
      '.x@example.com',
      'x.@example.com',
      'x..y@example.com',
      'x@example',
      'x@-example.com',
      'x@example-.com',
      'x@example..com',
      '@example.com',
      'x@',
    ]) {
      expect(refusal(value), value).toBe('email is not a valid e-mail address');
    }
    // What people really type still passes.
    for (const value of [
      "o'brien+tag@mail.example.org",
      'a_b-c=d@sub-domain.example.co.uk',
      'jörg@bücher.example',
    ]) {
      expect(checkEmail(value)).toBe(value);
    }
  });
});
