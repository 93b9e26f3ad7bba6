/*
 * Characters that no request value may hold. PostgreSQL refuses U+0000 in
 * text (a 500 where SQLite stored it); the other C0 controls and DEL have no
 * business in an identifier, a token or a name and are how log, header and
 * display confusion starts; an unpaired UTF-16 surrogate is not Unicode at
 * all, and both databases would store it silently replaced by U+FFFD, so what
 * was stored would not be what was sent. With the `u` flag a well-formed
 * surrogate pair is one code point and does not match; only a lone half does.
 */

/** In values: every C0 control except TAB, LF and CR (free text and JSON hold them), DEL, lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose.
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|\p{Cs}/u;
/** In names, path segments and credentials: every C0 control, DEL, lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose.
const FORBIDDEN_IN_NAME = /[\u0000-\u001F\u007F]|\p{Cs}/u;

/** The first forbidden code point of a free-text value (TAB, LF and CR allowed), if any. */
export function forbiddenInText(value: string): number | undefined {
  return FORBIDDEN_IN_TEXT.exec(value)?.[0].codePointAt(0);
}

/** The first forbidden code point of a name, identifier or credential (no control at all), if any. */
export function forbiddenInName(value: string): number | undefined {
  return FORBIDDEN_IN_NAME.exec(value)?.[0].codePointAt(0);
}

/** "the control character U+0000", or "an unpaired surrogate (U+D800)", for error messages. */
export function describeCodePoint(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code >= 0xd800 && code <= 0xdfff
    ? `an unpaired surrogate (${hex}), which is not valid Unicode`
    : `the control character ${hex}`;
}
