/**
 * The form in which text typed by people is compared: Unicode compatibility forms
 * folded (NFKC: a fullwidth "ａ" is an "a", a ligature "ﬁ" is "fi") and case ignored.
 * Usernames and e-mail addresses are unique, and looked up, in this form; passwords are
 * compared with the common-password list and the person's own names in it.
 * Normalised again after lower-casing, so that folding a folded value changes nothing.
 */
export function fold(value: string): string {
  return value.normalize('NFKC').toLowerCase().normalize('NFKC');
}
