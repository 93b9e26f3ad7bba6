import { parseArgs } from 'node:util';
import { apiView } from '../admin/apis.js';
import type { AppContext } from '../context.js';
import { type ApiInput, createApi, deleteApi, listApis, updateApi } from '../domain/apis.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { withContext } from './context.js';
import { CommandError, loadConfig, output } from './runtime.js';

/** The option that sets each field, so that a refusal names what the person typed. */
const FLAGS: Record<string, string> = {
  identifier: '--identifier',
  name: '--name',
  scopes: '--scopes',
  access_token_format: '--token-format',
  access_token_ttl: '--access-token-ttl',
};

const OPTIONS = {
  identifier: { type: 'string' },
  name: { type: 'string' },
  scopes: { type: 'string' },
  'token-format': { type: 'string' },
  'access-token-ttl': { type: 'string' },
  'open-to-self-registered': { type: 'boolean' },
  'closed-to-self-registered': { type: 'boolean' },
  json: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** What the options say; "client" for --token-format and "server" for --access-token-ttl reset them. */
function inputOf(values: Values): ApiInput {
  const input: ApiInput = {};
  if (values.identifier !== undefined) input.identifier = values.identifier;
  if (values.name !== undefined) input.name = values.name;
  if (values.scopes !== undefined) input.scopes = values.scopes.split(/[,\s]+/).filter(Boolean);
  const format = values['token-format'];
  if (format !== undefined) input.accessTokenFormat = format === 'client' ? null : format;
  const ttl = values['access-token-ttl'];
  if (ttl !== undefined) {
    if (ttl === 'server') input.accessTokenTtl = null;
    else if (/^\d+$/.test(ttl)) input.accessTokenTtl = Number(ttl);
    else throw new CommandError('--access-token-ttl must be a number of seconds', 'invalid');
  }
  if (values['open-to-self-registered']) input.openToSelfRegistered = true;
  if (values['closed-to-self-registered']) input.openToSelfRegistered = false;
  return input;
}

/** Runs `work`, turning the domain's refusals into one-line command errors. */
async function run<T>(work: (ctx: AppContext) => Promise<T>): Promise<T> {
  return withContext(loadConfig(), async (ctx) => {
    try {
      return await work(ctx);
    } catch (error) {
      if (error instanceof ValidationError) {
        const flag = FLAGS[error.field];
        throw new CommandError(flag ? `${flag}: ${error.message}` : error.message, 'invalid');
      }
      if (error instanceof ConflictError)
        throw new CommandError('an API with this --identifier exists already', 'conflict');
      if (error instanceof NotFoundError) throw new CommandError('no such API', 'not_found');
      throw error;
    }
  });
}

/** `tessera api create`: registers an API and prints, once, its introspection secret. */
export async function apiCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (!values.identifier || !values.name) {
    throw new CommandError(
      '--identifier and --name are required (see: tessera api create --help)',
      'usage',
    );
  }
  const input = inputOf(values);
  const { api, secret } = await run((ctx) => createApi(ctx, input));
  output(values.json).result({ ...apiView(api), client_secret: secret }, [
    `Registered API "${api.name}".`,
    `  id:            ${api.id}`,
    `  identifier:    ${api.identifier}`,
    `  scopes:        ${api.scopes.join(' ') || '(none)'}`,
    `  introspection: client_id ${api.clientId}`,
    `                 client_secret ${secret}`,
    '  (the secret is shown only now: store it safely)',
  ]);
}

/** `tessera api list`. */
export async function apiList(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
  });
  const apis = await run((ctx) => listApis(ctx));
  const text = apis.length
    ? apis.map((a) => `${a.id}  ${a.identifier}  ${a.name}  ${a.scopes.join(' ')}`)
    : 'No APIs yet: register one with `tessera api create`.';
  output(values.json).result({ apis: apis.map(apiView) }, text);
}

/** `tessera api update ID …`: changes only what the options name. */
export async function apiUpdate(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
  });
  const id = positionals[0];
  if (!id) throw new CommandError('usage: tessera api update API_ID [options] [--json]', 'usage');
  const input = inputOf(values);
  const api = await run((ctx) => updateApi(ctx, id, input));
  output(values.json).result(apiView(api), `Updated API "${api.name}" (${api.identifier}).`);
}

/** `tessera api delete ID`. */
export async function apiDelete(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const id = positionals[0];
  if (!id) throw new CommandError('usage: tessera api delete API_ID [--json]', 'usage');
  await run((ctx) => deleteApi(ctx, id));
  output(values.json).result({ deleted: id }, `Deleted API ${id} and its introspection client.`);
}
