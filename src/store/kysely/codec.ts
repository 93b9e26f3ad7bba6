/** Conversions between records and rows, shared by every repository. */

export const flag = (value: boolean): number => (value ? 1 : 0);
export const isSet = (value: number | boolean): boolean => value === 1 || value === true;

export function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function list(text: string): string[] {
  return JSON.parse(text) as string[];
}

/** Spaces separate scope tokens (RFC 6749 §3.3); stored the same way. */
export const splitScopes = (scopes: string): string[] => (scopes ? scopes.split(' ') : []);

/** True when a driver error is a unique-constraint violation. */
export function isUniqueViolation(error: unknown): error is Error & { code?: string } {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** The text of a unique violation, which names the index or column it broke. */
export function violationText(error: Error & { constraint?: string }): string {
  return `${error.message} ${error.constraint ?? ''}`;
}
