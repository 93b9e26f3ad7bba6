import { CommandError, ConfigError } from './cli/runtime.js';

type Command = (argv: string[]) => Promise<void>;

interface CommandEntry {
  /** One line for the command list. */
  summary: string;
  /** What `tessera <command> --help` prints. */
  usage: string;
  /** Loaded lazily, so that `tessera migrate` does not load the server. */
  load: () => Promise<Command>;
}

/** Commands by their words. */
const commands: Record<string, CommandEntry> = {
  start: {
    summary: 'run the server (migrates first); --demo adds a demo user and client',
    usage: `Usage: tessera start [--demo]

Migrates the database, serves on PORT, and prints the URL, the database and next steps.
  --demo   also create (or refresh) the user "demo" and the client "Demo app" and print
           their credentials, with an authorize URL and its code_verifier
Stops cleanly on SIGTERM or SIGINT.`,
    load: async () => (await import('./cli/start.js')).start,
  },
  migrate: {
    summary: 'apply database migrations',
    usage: `Usage: tessera migrate [--json]

Applies pending migrations to the database in DATABASE_URL and exits.`,
    load: async () => (await import('./cli/migrate.js')).migrate,
  },
  'user create': {
    summary: 'create a user',
    usage: `Usage: tessera user create --username U --email E (--password P | --password-stdin)
         [--given-name G] [--family-name F] [--phone N] [--role admin|user]
         [--email-verified] [--json]

Creates an account with the rules of the sign-up page. The e-mail address is marked
unverified unless --email-verified is given.
  --password-stdin   read the password from the standard input (one line), which keeps
                     it out of the shell history`,
    load: async () => (await import('./cli/user.js')).userCreate,
  },
  'user set-password': {
    summary: "set a user's password and end their sessions",
    usage: `Usage: tessera user set-password (--username U | --id ID)
         (--password P | --password-stdin) [--json]

Gives the person a new password, which must pass the rules of the sign-up page (at least
TESSERA_PASSWORD_MIN_LENGTH characters, not a common password, not the username or
e-mail address), and ends every session they have. Recorded in the audit log.
  --password-stdin   read the password from the standard input (one line), which keeps
                     it out of the shell history`,
    load: async () => (await import('./cli/user.js')).userSetPassword,
  },
  'user link-identity': {
    summary: "link a person's account at a trusted issuer, for token exchange",
    usage: `Usage: tessera user link-identity (--username U | --id ID) --issuer URL --subject SUB
         [--unlink] [--json]

Links the person to their account at another OpenID provider: the "iss" and "sub" of
its ID tokens. Token exchange (docs/token-exchange.md) then accepts those ID tokens
for this person, from clients allowed that issuer. --unlink removes the link.`,
    load: async () => (await import('./cli/user.js')).userLinkIdentity,
  },
  'client create': {
    summary: 'register a client',
    usage: `Usage: tessera client create --name N --redirect-uri URL [--redirect-uri URL2 …]
         [--public] [--grant-types a,b] [--scopes "openid profile email"]
         [--auth-method client_secret_basic|client_secret_post|client_secret_jwt|
                        private_key_jwt|none]  (also --token-endpoint-auth-method)
         [--jwks-file FILE | --jwks-uri URL] [--auth-signing-alg ALG]
         [--jwt-bearer-subjects USER_ID,…]
         [--post-logout-redirect-uri URL …] [--backchannel-logout-uri URL]
         [--id-token-alg RS256|ES256|EdDSA] [--userinfo-alg RS256|ES256|EdDSA]
         [--first-party] [--require-pkce] [--opaque-access-tokens] [--resource-server]
         [--dpop-bound-access-tokens] [--default-max-age SECONDS] [--require-auth-time] [--require-par]
         [--token-exchange-audience AUD …] [--token-exchange-subject-token-types a,b]
         [--token-exchange-trusted-issuer URL …] [--resources "URI URI"] [--json]

Prints the client_id and, for a confidential client, the client_secret: it is shown
only once (only its hash is stored).
  grant types: authorization_code, refresh_token, client_credentials,
               urn:ietf:params:oauth:grant-type:jwt-bearer
               urn:ietf:params:oauth:grant-type:token-exchange
               (default authorization_code,refresh_token)
  --jwks-file        the client's public keys (a JWK Set file), for private_key_jwt and
                     the JWT bearer grant; --jwks-uri: where it publishes them instead
  --jwt-bearer-subjects  user ids of the people it may act for with the JWT bearer grant
  scopes:      default "openid profile email phone address offline_access"
  --resource-server  an API's client: it may introspect the access tokens of every client
                     (issued for the default audience), not only its own
  --dpop-bound-access-tokens  every token request must carry a DPoP proof (RFC 9449)
  --default-max-age  the max_age of its requests that send none: a sign-in older than this
                     many seconds is asked again, and ID tokens carry auth_time
  --require-auth-time  always put auth_time (the time of the sign-in) in its ID tokens
  --token-exchange-audience  an audience it may exchange tokens for (docs/token-exchange.md)
  --token-exchange-subject-token-types  the subject token types it may exchange (default
                     urn:ietf:params:oauth:token-type:access_token; also ...:id_token)
  --token-exchange-trusted-issuer  a TESSERA_TRUSTED_ISSUERS issuer whose ID tokens it may
                     exchange
  --require-par  its authorization requests must be pushed to /par first (RFC 9126)
  --resources    the identifiers of the APIs it may get tokens for (RFC 8707 resource),
                 space- or comma-separated (docs/apis.md)`,
    load: async () => (await import('./cli/client.js')).clientCreate,
  },
  'client list': {
    summary: 'list clients',
    usage: `Usage: tessera client list [--json]

Lists every client (never a secret).`,
    load: async () => (await import('./cli/client.js')).clientList,
  },
  'client delete': {
    summary: 'delete a client',
    usage: `Usage: tessera client delete CLIENT_ID [--json]

Deletes the client with every grant, code and token issued to it.`,
    load: async () => (await import('./cli/client.js')).clientDelete,
  },
  'api create': {
    summary: 'register an API (resource server)',
    usage: `Usage: tessera api create --identifier URI --name N [--scopes "a:read a:write"]
         [--token-format jwt|opaque] [--access-token-ttl SECONDS] [--open-to-self-registered]
         [--json]

Registers an API: tokens for it (RFC 8707 resource=URI) carry aud=URI, its scopes, its
token format and lifetime. Prints the client_id and, once, the client_secret it
authenticates with at /introspect (it sees only tokens meant for it).
  --identifier   an absolute URI without a fragment; it cannot change later
  --token-format jwt or opaque (default: the format of the client asking)
  --access-token-ttl  seconds (default: TESSERA_ACCESS_TOKEN_TTL)
  --open-to-self-registered  clients that registered themselves (dynamic registration,
                 metadata documents) may use it without an admin allowing them
Allow a registered client with: tessera client create … --resources URI (docs/apis.md)`,
    load: async () => (await import('./cli/api.js')).apiCreate,
  },
  'api list': {
    summary: 'list APIs',
    usage: 'Usage: tessera api list [--json]',
    load: async () => (await import('./cli/api.js')).apiList,
  },
  'api update': {
    summary: "change an API's settings",
    usage: `Usage: tessera api update API_ID [--name N] [--scopes "…"] [--token-format jwt|opaque|client]
         [--access-token-ttl SECONDS|server] [--open-to-self-registered | --closed-to-self-registered]
         [--json]

Changes only what the options name; "client" and "server" give the format and the
lifetime back to the client's setting and the server's. The identifier never changes.`,
    load: async () => (await import('./cli/api.js')).apiUpdate,
  },
  'api delete': {
    summary: 'delete an API',
    usage: `Usage: tessera api delete API_ID [--json]

Deletes the API and its introspection client. Clients can no longer ask for it.`,
    load: async () => (await import('./cli/api.js')).apiDelete,
  },
  'keys rotate': {
    summary: 'sign with the published standby key, publish a new standby',
    usage: `Usage: tessera keys rotate [--alg RS256|ES256|EdDSA …] [--json]

Promotes each algorithm's published standby key to current and publishes a new standby.
Tokens signed before keep verifying until their key retires.`,
    load: async () => (await import('./cli/keys.js')).keysRotate,
  },
  'keys list': {
    summary: 'the signing keys and their state',
    usage: 'Usage: tessera keys list [--json]',
    load: async () => (await import('./cli/keys.js')).keysList,
  },
  'registration-token create': {
    summary: 'issue an initial access token for dynamic client registration',
    usage: `Usage: tessera registration-token create [--expires-in SECONDS] [--uses N] [--json]

Issues an initial access token (RFC 7591 §3) and prints it once; only its hash is kept.
With TESSERA_REGISTRATION=token, a client registers itself at /register by sending it as
"Authorization: Bearer <token>" (docs/registration.md).
  --expires-in SECONDS   it stops working this many seconds from now (default: never)
  --uses N               it allows N registrations (default: unlimited)`,
    load: async () => (await import('./cli/registration-token.js')).registrationTokenCreate,
  },
  'registration-token list': {
    summary: 'the initial access tokens, their expiry and uses left',
    usage: 'Usage: tessera registration-token list [--json]',
    load: async () => (await import('./cli/registration-token.js')).registrationTokenList,
  },
  'registration-token delete': {
    summary: 'revoke an initial access token',
    usage: `Usage: tessera registration-token delete ID [--json]

The token stops working at once; clients it registered stay.`,
    load: async () => (await import('./cli/registration-token.js')).registrationTokenDelete,
  },
};

const USAGE = `Usage: tessera <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, entry]) => `  ${name.padEnd(18)} ${entry.summary}`)
  .join('\n')}

Every command takes --help, and --json for output that scripts can read
(tessera start logs JSON lines already).
Configuration comes from the environment, as for the server: see docs/configuration.md.`;

function findCommand(argv: string[]): { name: string; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(' ');
  if (commands[two]) return { name: two, rest: argv.slice(2) };
  const one = argv[0];
  if (one && commands[one]) return { name: one, rest: argv.slice(1) };
  return undefined;
}

/** One line on stderr (and `{"error", "message"}` on stdout under --json), exit code 1. */
function fail(json: boolean, code: string, message: string): never {
  if (json) process.stdout.write(`${JSON.stringify({ error: code, message })}\n`);
  process.stderr.write(`tessera: ${message}\n`);
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`tessera: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const entry = commands[found.name]!;
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    process.stdout.write(`${entry.usage}\n`);
    return;
  }
  try {
    const command = await entry.load();
    await command(found.rest);
  } catch (error) {
    if (error instanceof CommandError) fail(json, error.code, error.message);
    if (error instanceof ConfigError) fail(json, 'config', error.message);
    if (isArgError(error)) {
      fail(json, 'usage', `${(error as Error).message} (see: tessera ${found.name} --help)`);
    }
    throw error;
  }
}

function isArgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

await main(process.argv.slice(2));
