import { parseArgs } from 'node:util';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import {
  issueInitialToken,
  listInitialTokens,
  revokeInitialToken,
} from '../domain/registration-tokens.js';
import { withContext } from './context.js';
import { CommandError, loadConfig, output } from './runtime.js';

/** A whole number option, or undefined when absent. */
function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CommandError(`--${name} must be a whole number`, 'usage');
  return Number(value);
}

const when = (seconds: number | null) =>
  seconds === null ? 'never' : new Date(seconds * 1000).toISOString();

/**
 * `tessera registration-token create [--expires-in SECONDS] [--uses N] [--json]`: an initial
 * access token for dynamic client registration (TESSERA_REGISTRATION=token), printed once.
 */
export async function registrationTokenCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'expires-in': { type: 'string' },
      uses: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const expiresIn = whole('expires-in', values['expires-in']);
  const uses = whole('uses', values.uses);
  const { record, token } = await withContext(loadConfig(), async (ctx) => {
    try {
      return await issueInitialToken(ctx, {
        ...(expiresIn !== undefined ? { expiresIn } : {}),
        ...(uses !== undefined ? { uses } : {}),
      });
    } catch (error) {
      // The domain names the wire field; the person typed the option.
      if (error instanceof ValidationError)
        throw new CommandError(
          error.message.replace('expires_in', '--expires-in').replace(/^uses/, '--uses'),
          'invalid',
        );
      throw error;
    }
  });
  output(values.json).result(
    { id: record.id, token, expires_at: record.expiresAt, uses_left: record.usesLeft },
    [
      `Registration token ${record.id}`,
      `  token: ${token}   (shown once; send it as "Authorization: Bearer …" to /register)`,
      `  expires: ${when(record.expiresAt)}`,
      `  uses: ${record.usesLeft ?? 'unlimited'}`,
    ],
  );
}

/** `tessera registration-token list [--json]`: the initial access tokens, without their values. */
export async function registrationTokenList(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
  });
  const tokens = await withContext(loadConfig(), (ctx) => listInitialTokens(ctx));
  output(values.json).result(
    {
      registration_tokens: tokens.map((t) => ({
        id: t.id,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        uses_left: t.usesLeft,
      })),
    },
    tokens.length === 0
      ? ['(no registration tokens)']
      : tokens.map(
          (t) => `${t.id}  expires ${when(t.expiresAt)}  uses left ${t.usesLeft ?? 'unlimited'}`,
        ),
  );
}

/** `tessera registration-token delete ID [--json]`: the token stops working at once. */
export async function registrationTokenDelete(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1)
    throw new CommandError('give the id of one registration token', 'usage');
  await withContext(loadConfig(), async (ctx) => {
    try {
      await revokeInitialToken(ctx, id);
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new CommandError(`no registration token with id "${id}"`, 'not_found');
      throw error;
    }
  });
  output(values.json).result({ deleted: id }, [`Registration token ${id} deleted`]);
}
