import { parseArgs } from 'node:util';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { registerUser } from '../domain/users.js';
import { withContext } from './context.js';
import { CommandError, loadConfig, output } from './runtime.js';

/** `tessera user create`: creates an account, as the sign-up page would. */
export async function userCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      'given-name': { type: 'string' },
      'family-name': { type: 'string' },
      phone: { type: 'string' },
      role: { type: 'string' },
      'email-verified': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  for (const required of ['username', 'email', 'password'] as const) {
    if (!values[required])
      throw new CommandError(
        `--${required} is required (see: tessera user create --help)`,
        'usage',
      );
  }
  if (values.role !== undefined && values.role !== 'admin' && values.role !== 'user') {
    throw new CommandError('--role must be admin or user', 'usage');
  }
  const config = loadConfig();
  const user = await withContext(config, async (ctx) => {
    try {
      return await registerUser(ctx, {
        username: values.username!,
        email: values.email!,
        password: values.password!,
        givenName: values['given-name'] ?? null,
        familyName: values['family-name'] ?? null,
        phoneNumber: values.phone ?? null,
        role: (values.role as 'admin' | 'user' | undefined) ?? 'user',
        emailVerified: values['email-verified'],
      });
    } catch (error) {
      if (error instanceof ConflictError) {
        const value = error.field === 'email' ? values.email : values.username;
        throw new CommandError(`${error.field} "${value}" is already taken`, 'conflict');
      }
      if (error instanceof ValidationError) throw new CommandError(error.message, 'invalid');
      throw error;
    }
  });
  output(values.json).result(
    { id: user.id, sub: user.id, username: user.username, email: user.email, role: user.role },
    [`Created user ${user.username} (${user.email}), role ${user.role}.`, `  id (sub): ${user.id}`],
  );
}
