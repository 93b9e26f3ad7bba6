import { parseArgs } from 'node:util';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { linkIdentity, unlinkIdentity } from '../domain/external-identities.js';
import { setPassword } from '../domain/password-change.js';
import { registerUser } from '../domain/users.js';
import { fold } from '../lib/fold.js';
import { withContext } from './context.js';
import { CommandError, loadConfig, output } from './runtime.js';

/** Enough for any password the rules accept (256 characters of up to 4 bytes each). */
const STDIN_LIMIT = 4096;

/** The password given on the standard input, without the line break that ends it. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > STDIN_LIMIT) throw new CommandError('the password on stdin is too long', 'invalid');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * --password P, or --password-stdin: the password read from the standard input, so
 * that it stays out of the shell history and the process list.
 */
async function passwordOption(
  values: { password?: string | undefined; 'password-stdin'?: boolean | undefined },
  command: string,
): Promise<string> {
  if (values.password !== undefined && values['password-stdin']) {
    throw new CommandError('give --password or --password-stdin, not both', 'usage');
  }
  if (values['password-stdin']) return readPasswordFromStdin();
  if (!values.password) {
    throw new CommandError(
      `--password or --password-stdin is required (see: tessera ${command} --help)`,
      'usage',
    );
  }
  return values.password;
}

/** `tessera user create`: creates an account, as the sign-up page would. */
export async function userCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      'given-name': { type: 'string' },
      'family-name': { type: 'string' },
      phone: { type: 'string' },
      role: { type: 'string' },
      'email-verified': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  for (const required of ['username', 'email'] as const) {
    if (!values[required])
      throw new CommandError(
        `--${required} is required (see: tessera user create --help)`,
        'usage',
      );
  }
  if (values.role !== undefined && values.role !== 'admin' && values.role !== 'user') {
    throw new CommandError('--role must be admin or user', 'usage');
  }
  const password = await passwordOption(values, 'user create');
  const config = loadConfig();
  const user = await withContext(config, async (ctx) => {
    try {
      return await registerUser(ctx, {
        username: values.username!,
        email: values.email!,
        password,
        givenName: values['given-name'] ?? null,
        familyName: values['family-name'] ?? null,
        phoneNumber: values.phone ?? null,
        role: (values.role as 'admin' | 'user' | undefined) ?? 'user',
        emailVerified: values['email-verified'],
        origin: { via: 'cli' },
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

/** `tessera user set-password`: a new password for a person, who is signed out everywhere. */
export async function userSetPassword(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      username: { type: 'string' },
      id: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if ((values.username === undefined) === (values.id === undefined)) {
    throw new CommandError(
      'give the person as --username or --id (see: tessera user set-password --help)',
      'usage',
    );
  }
  const password = await passwordOption(values, 'user set-password');
  const config = loadConfig();
  const done = await withContext(config, async (ctx) => {
    const user =
      values.id !== undefined
        ? await ctx.store.users.findById(values.id)
        : await ctx.store.users.findByLogin(values.username!);
    // findByLogin also matches an e-mail address; --username means the username.
    if (!user || (values.username !== undefined && fold(user.username) !== fold(values.username))) {
      const which = values.id !== undefined ? `id "${values.id}"` : `username "${values.username}"`;
      throw new CommandError(`no user with ${which}`, 'not_found');
    }
    try {
      return await setPassword(ctx, user, password, { by: 'cli' });
    } catch (error) {
      if (error instanceof ValidationError) throw new CommandError(error.message, 'invalid');
      throw error;
    }
  });
  const { user, sessionsEnded } = done;
  output(values.json).result(
    { id: user.id, username: user.username, sessions_ended: sessionsEnded },
    [`Password set for ${user.username}; ${sessionsEnded} session(s) ended.`],
  );
}

/** `tessera user link-identity`: ties a person to their account at a trusted issuer. */
export async function userLinkIdentity(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      username: { type: 'string' },
      id: { type: 'string' },
      issuer: { type: 'string' },
      subject: { type: 'string' },
      unlink: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if ((values.username === undefined) === (values.id === undefined)) {
    throw new CommandError(
      'give the person as --username or --id (see: tessera user link-identity --help)',
      'usage',
    );
  }
  if (!values.issuer || !values.subject) {
    throw new CommandError(
      '--issuer and --subject are required (see: tessera user link-identity --help)',
      'usage',
    );
  }
  const identity = { issuer: values.issuer, subject: values.subject };
  const user = await withContext(loadConfig(), async (ctx) => {
    const user =
      values.id !== undefined
        ? await ctx.store.users.findById(values.id)
        : await ctx.store.users.findByLogin(values.username!);
    if (!user || (values.username !== undefined && fold(user.username) !== fold(values.username))) {
      const which = values.id !== undefined ? `id "${values.id}"` : `username "${values.username}"`;
      throw new CommandError(`no user with ${which}`, 'not_found');
    }
    try {
      if (values.unlink) await unlinkIdentity(ctx, user.id, identity, { by: 'cli' });
      else await linkIdentity(ctx, user.id, identity, { by: 'cli' });
    } catch (error) {
      if (error instanceof ConflictError)
        throw new CommandError(
          `${identity.issuer} subject "${identity.subject}" is linked already`,
          'conflict',
        );
      if (error instanceof NotFoundError)
        throw new CommandError(`${user.username} has no such linked identity`, 'not_found');
      if (error instanceof ValidationError) throw new CommandError(error.message, 'invalid');
      throw error;
    }
    return user;
  });
  output(values.json).result(
    { id: user.id, username: user.username, ...identity, linked: !values.unlink },
    [
      values.unlink
        ? `Unlinked ${identity.issuer} subject "${identity.subject}" from ${user.username}.`
        : `Linked ${identity.issuer} subject "${identity.subject}" to ${user.username}.`,
    ],
  );
}
