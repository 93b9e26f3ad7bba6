import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { clientView, clientWithSecret } from '../admin/wire.js';
import { type ClientInput, createClient, deleteClient } from '../domain/clients.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { withContext } from './context.js';
import { CommandError, loadConfig, output } from './runtime.js';

/** The option that sets each wire field, so that a refusal names what the person typed. */
const FLAGS: Record<string, string> = {
  client_name: '--name',
  redirect_uris: '--redirect-uri',
  post_logout_redirect_uris: '--post-logout-redirect-uri',
  backchannel_logout_uri: '--backchannel-logout-uri',
  grant_types: '--grant-types',
  scope: '--scopes',
  token_endpoint_auth_method: '--auth-method',
  client_type: '--public',
  id_token_signed_response_alg: '--id-token-alg',
  userinfo_signed_response_alg: '--userinfo-alg',
  resource_server: '--resource-server',
  dpop_bound_access_tokens: '--dpop-bound-access-tokens',
  default_max_age: '--default-max-age',
  require_auth_time: '--require-auth-time',
  jwks: '--jwks-file',
  jwks_uri: '--jwks-uri',
  token_endpoint_auth_signing_alg: '--auth-signing-alg',
  jwt_bearer_subjects: '--jwt-bearer-subjects',
  token_exchange_audiences: '--token-exchange-audience',
  token_exchange_subject_token_types: '--token-exchange-subject-token-types',
  token_exchange_trusted_issuers: '--token-exchange-trusted-issuer',
  require_pushed_authorization_requests: '--require-par',
  allowed_resources: '--resources',
};

/** A rule's message with the option the person typed in place of the wire field name. */
function inFlagTerms(error: ValidationError): string {
  const flag = FLAGS[error.field];
  if (!flag) return error.message;
  if (error.message.startsWith(`${error.field}: `))
    return `${flag}: ${error.message.slice(error.field.length + 2)}`;
  if (error.message.startsWith(`${error.field} `))
    return `${flag}${error.message.slice(error.field.length)}`;
  return `${flag}: ${error.message}`;
}

/** The JWK Set in a file, as text: the domain parses and checks it (client-jwks.ts). */
function readJwksFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CommandError(
      `--jwks-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'invalid',
    );
  }
}

const list = (value: string | undefined) => value?.split(/[,\s]+/).filter(Boolean);

/** `tessera client create`: registers a client and prints its id and, once, its secret. */
export async function clientCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'backchannel-logout-uri': { type: 'string' },
      public: { type: 'boolean', default: false },
      'grant-types': { type: 'string' },
      scopes: { type: 'string' },
      'auth-method': { type: 'string' },
      'token-endpoint-auth-method': { type: 'string' },
      'auth-signing-alg': { type: 'string' },
      'jwks-file': { type: 'string' },
      'jwks-uri': { type: 'string' },
      'jwt-bearer-subjects': { type: 'string' },
      'id-token-alg': { type: 'string' },
      'userinfo-alg': { type: 'string' },
      'first-party': { type: 'boolean', default: false },
      'require-pkce': { type: 'boolean', default: false },
      'opaque-access-tokens': { type: 'boolean', default: false },
      'resource-server': { type: 'boolean', default: false },
      'dpop-bound-access-tokens': { type: 'boolean', default: false },
      'default-max-age': { type: 'string' },
      'require-auth-time': { type: 'boolean', default: false },
      'token-exchange-audience': { type: 'string', multiple: true },
      'token-exchange-subject-token-types': { type: 'string' },
      'token-exchange-trusted-issuer': { type: 'string', multiple: true },
      'require-par': { type: 'boolean', default: false },
      resources: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.name) {
    throw new CommandError('--name is required (see: tessera client create --help)', 'usage');
  }
  const input: ClientInput = {
    name: values.name,
    redirectUris: values['redirect-uri'] ?? [],
    firstParty: values['first-party'],
    requirePkce: values['require-pkce'],
  };
  if (values.public) input.type = 'public';
  const grantTypes = list(values['grant-types']);
  if (grantTypes) input.grantTypes = grantTypes;
  const scopes = list(values.scopes);
  if (scopes) input.scopes = scopes;
  const method = values['token-endpoint-auth-method'] ?? values['auth-method'];
  if (values['token-endpoint-auth-method'] && values['auth-method']) {
    throw new CommandError(
      'give --auth-method or --token-endpoint-auth-method (the same setting), not both',
      'usage',
    );
  }
  if (method) input.tokenEndpointAuthMethod = method;
  if (values['auth-signing-alg']) input.tokenEndpointAuthSigningAlg = values['auth-signing-alg'];
  if (values['jwks-file']) input.jwks = readJwksFile(values['jwks-file']);
  if (values['jwks-uri']) input.jwksUri = values['jwks-uri'];
  const subjects = list(values['jwt-bearer-subjects']);
  if (subjects) input.jwtBearerSubjects = subjects;
  if (values['post-logout-redirect-uri'])
    input.postLogoutRedirectUris = values['post-logout-redirect-uri'];
  if (values['backchannel-logout-uri'])
    input.backchannelLogoutUri = values['backchannel-logout-uri'];
  if (values['id-token-alg']) input.idTokenSignedResponseAlg = values['id-token-alg'];
  if (values['userinfo-alg']) input.userinfoSignedResponseAlg = values['userinfo-alg'];
  if (values['opaque-access-tokens']) input.accessTokenFormat = 'opaque';
  if (values['resource-server']) input.resourceServer = true;
  if (values['dpop-bound-access-tokens']) input.dpopBoundAccessTokens = true;
  if (values['require-auth-time']) input.requireAuthTime = true;
  if (values['token-exchange-audience'])
    input.tokenExchangeAudiences = values['token-exchange-audience'];
  const subjectTypes = list(values['token-exchange-subject-token-types']);
  if (subjectTypes) input.tokenExchangeSubjectTokenTypes = subjectTypes;
  if (values['token-exchange-trusted-issuer'])
    input.tokenExchangeTrustedIssuers = values['token-exchange-trusted-issuer'];
  if (values['require-par']) input.requirePushedAuthorizationRequests = true;
  const resources = list(values.resources);
  if (resources) input.allowedResources = resources;
  const maxAge = values['default-max-age'];
  if (maxAge !== undefined) {
    // The domain checks the range; a number is all that is read here, so "1h" is refused by name.
    if (!/^\d{1,12}$/.test(maxAge)) {
      throw new CommandError(
        '--default-max-age must be a whole number of seconds, e.g. 3600',
        'invalid',
      );
    }
    input.defaultMaxAge = Number(maxAge);
  }

  const { client, secret } = await withContext(loadConfig(), async (ctx) => {
    try {
      return await createClient(ctx, input);
    } catch (error) {
      if (error instanceof ValidationError) {
        throw new CommandError(inFlagTerms(error), 'invalid');
      }
      throw error;
    }
  });
  const lines = [
    `Registered client "${client.name}" (${client.type}).`,
    `  client_id:     ${client.id}`,
    ...(secret
      ? [`  client_secret: ${secret}`, '  (the secret is shown only now: store it safely)']
      : []),
    `  redirect_uris: ${client.redirectUris.join(' ') || '(none)'}`,
    `  grant_types:   ${client.grantTypes.join(' ')}`,
    `  scopes:        ${client.scopes.join(' ')}`,
  ];
  output(values.json).result(clientWithSecret(client, secret), lines);
}

/** `tessera client list`: every client, without secrets. */
export async function clientList(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
  });
  const clients = await withContext(loadConfig(), (ctx) => ctx.store.clients.list());
  const text = clients.length
    ? clients.map((c) => `${c.id}  ${c.type.padEnd(12)}  ${c.name}  ${c.redirectUris.join(' ')}`)
    : 'No clients yet: register one with `tessera client create`.';
  output(values.json).result({ clients: clients.map(clientView) }, text);
}

/** `tessera client delete ID`: deletes a client with every grant, code and token of its. */
export async function clientDelete(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const id = positionals[0];
  if (!id) throw new CommandError('usage: tessera client delete CLIENT_ID [--json]', 'usage');
  await withContext(loadConfig(), async (ctx) => {
    try {
      await deleteClient(ctx, id);
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new CommandError(`no client with id "${id}"`, 'not_found');
      throw error;
    }
  });
  output(values.json).result({ deleted: id }, `Deleted client ${id} and everything issued to it.`);
}
