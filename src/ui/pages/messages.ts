import { ConflictError, ValidationError } from '../../domain/errors.js';

/** A message shown above a form, and the field it is about (to mark that input invalid). */
export interface FormError {
  message: string;
  field?: string;
}

/** The visible label of each form field, so messages name what the person sees. */
const LABELS: Record<string, string> = {
  given_name: 'First name',
  family_name: 'Last name',
  username: 'Username',
  phone_number: 'Phone',
  email: 'Email',
  password: 'Password',
  current_password: 'Current password',
  new_password: 'New password',
};

/** "given_name must be …" → "First name must be …" */
function forPeople(field: string, message: string): string {
  const label = LABELS[field];
  if (label && message.startsWith(`${field} `)) return `${label}${message.slice(field.length)}`;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

const TAKEN: Record<string, string> = {
  username: 'That username is already taken. Choose another one.',
  email: 'An account with that email address already exists.',
};

/**
 * The form message and status for an error a form submission may cause, or
 * undefined for anything else (which the error handler then answers).
 */
export function formErrorOf(error: unknown): { status: number; error: FormError } | undefined {
  if (error instanceof ValidationError) {
    return {
      status: 400,
      error: { message: forPeople(error.field, error.message), field: error.field },
    };
  }
  if (error instanceof ConflictError) {
    const message = TAKEN[error.field] ?? error.message;
    return { status: 409, error: { message, field: error.field } };
  }
  return undefined;
}
