import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { randomToken } from './lib/random.js';

/** A bad setting: start-up stops with one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'url' | 'int' | 'bool' | 'enum';

interface Setting {
  env: string;
  kind: Kind;
  /** The default as it would be written in the environment; undefined means unset. */
  default?: string;
  /** What it does; rendered into docs/configuration.md. */
  doc: string;
  /** What we recommend, when the default is not right for production. */
  recommend?: string;
  values?: readonly string[];
  min?: number;
  max?: number;
}

/**
 * Every setting, once. `docs/configuration.md` is generated from this table
 * (`npm run docs:config`) and a test keeps the two in step.
 */
export const settings = {
  issuer: {
    env: 'TESSERA_ISSUER',
    kind: 'url',
    default: 'http://localhost:9000',
    doc: 'The issuer identifier and public base URL: every endpoint and the `iss` of every token derive from it.',
    recommend: 'An https URL in production.',
  },
  port: {
    env: 'PORT',
    kind: 'int',
    default: '9000',
    min: 0,
    max: 65535,
    doc: 'TCP port to listen on. `0` lets the system choose a free one, which `tessera start` prints (`Listening on …`).',
  },
  host: { env: 'HOST', kind: 'string', default: '0.0.0.0', doc: 'Address to listen on.' },
  databaseUrl: {
    env: 'DATABASE_URL',
    kind: 'string',
    default: 'sqlite:./data/tessera.sqlite',
    doc: '`sqlite:PATH` for the embedded SQLite store (`sqlite::memory:` for a throwaway one), or `postgres://…` for PostgreSQL.',
    recommend: 'PostgreSQL when more than one instance runs.',
  },
  secret: {
    env: 'TESSERA_SECRET',
    kind: 'string',
    min: 32,
    doc: 'Instance secret (at least 32 characters): encrypts private keys at rest and keys CSRF and form signatures. Generated into `data/secret` on first start in development.',
    recommend: 'Required when `NODE_ENV=production`; keep it in a secret store.',
  },
  adminKey: {
    env: 'TESSERA_ADMIN_KEY',
    kind: 'string',
    min: 16,
    doc: 'Key for the admin API, sent as the `X-Admin-Key` header. Unset: only signed-in admins reach the admin API.',
  },
  redisUrl: {
    env: 'TESSERA_REDIS_URL',
    kind: 'url',
    doc: 'Redis, to tell every instance at once when a client, a token or the signing keys change, and to keep the abuse limits (sign-in, sign-up, client failures) in one place for every instance. Unset: other instances see a revoked token, an ended session or a revoked grant within TESSERA_TOKEN_CACHE_SECONDS and other changes within 5 seconds, and each instance counts on its own.',
  },
  rateLimitPrefix: {
    env: 'TESSERA_RATE_LIMIT_PREFIX',
    kind: 'string',
    default: 'tessera:rl:',
    doc: 'Prefix of the abuse-limit counters kept in Redis, so that two Tessera deployments can share one Redis without sharing counters.',
  },
  trustProxy: {
    env: 'TESSERA_TRUST_PROXY',
    kind: 'string',
    default: 'false',
    doc: "Which reverse proxies to believe about the client's address (`X-Forwarded-For`), which the per-address limits count by: `false` (the connection's own address), `true` (any: only when no one can reach Tessera but through the proxy), a number of proxy hops, or a comma-separated list of proxy addresses, CIDR ranges and the words `loopback`, `linklocal`, `uniquelocal`.",
    recommend:
      "Behind a reverse proxy, its address (e.g. `10.0.0.5` or `loopback`); otherwise every person seems to come from the proxy and shares one address's limits.",
  },
  logLevel: {
    env: 'LOG_LEVEL',
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Log level of the JSON logs.',
  },
  nodeEnv: {
    env: 'NODE_ENV',
    kind: 'enum',
    default: 'development',
    values: ['development', 'production', 'test'],
    doc: '`production` requires `TESSERA_SECRET` and `TESSERA_SMTP_URL`, and hides development helpers (the outbox at `/dev/outbox`).',
  },
  smtpUrl: {
    env: 'TESSERA_SMTP_URL',
    kind: 'url',
    doc: 'Where mail is sent: an SMTP URL as nodemailer reads it (`smtp://user:pass@host:587`, `smtps://…:465`). Unset outside production: mail goes to the development outbox, listed at `/dev/outbox`. Unset in production: start-up stops, since sign-up verification, e-mailed codes, password reset and security notices always send mail.',
    recommend:
      'Required in production: e-mail codes, verification, password reset and security notices send mail.',
  },
  mailFrom: {
    env: 'TESSERA_MAIL_FROM',
    kind: 'string',
    default: 'Tessera <no-reply@localhost>',
    doc: 'The sender of every mail Tessera sends (`Name <address>` or an address).',
    recommend: 'An address of your domain that your SMTP server may send from.',
  },
  webauthnRpId: {
    env: 'TESSERA_WEBAUTHN_RP_ID',
    kind: 'string',
    doc: "The WebAuthn relying party id that passkeys are bound to: the issuer's host, or a registrable suffix of it (`example.com` for `https://login.example.com`), so that passkeys also work on the other hosts of that domain. Unset: the issuer's host. Passkeys registered under one id do not work under another: choose it once.",
  },
  webauthnRpName: {
    env: 'TESSERA_WEBAUTHN_RP_NAME',
    kind: 'string',
    doc: 'The name a browser or password manager shows for passkeys registered here. Unset: TESSERA_SITE_NAME.',
  },
  siteName: {
    env: 'TESSERA_SITE_NAME',
    kind: 'string',
    default: 'Tessera',
    doc: 'The name people know this Tessera by: it starts the subject of every mail, signs its body and heads it.',
    recommend: "Your organisation's or service's name.",
  },
  signupEnabled: {
    env: 'TESSERA_SIGNUP_ENABLED',
    kind: 'bool',
    default: 'true',
    doc: 'Whether people may create their own accounts at `/signup` and `POST /api/users`.',
  },
  requireVerifiedEmail: {
    env: 'TESSERA_REQUIRE_VERIFIED_EMAIL',
    kind: 'bool',
    default: 'false',
    doc: 'Whether a person must verify their e-mail address before a sign-in (or a sign-up) completes: until then they are sent to `/verify-email`, and the session starts once the code or link is used.',
    recommend:
      'On when apps rely on `email` being the person’s (needs working mail: TESSERA_SMTP_URL).',
  },
  passwordMinLength: {
    env: 'TESSERA_PASSWORD_MIN_LENGTH',
    kind: 'int',
    default: '10',
    min: 8,
    max: 64,
    doc: 'Shortest password accepted, in characters, wherever a password is set (sign-up, the APIs, the CLI, a change). Passwords are also refused when only spaces, one of the 100,000 most common, or the username or e-mail address. Existing passwords keep working.',
  },
  argon2MemoryKib: {
    env: 'TESSERA_ARGON2_MEMORY_KIB',
    kind: 'int',
    default: '19456',
    min: 8192,
    max: 4194304,
    doc: "Memory of each argon2id password hash, in KiB (19456 = 19 MiB, OWASP's baseline with 2 passes). A password stored with other parameters is hashed again with these when its owner next signs in.",
    recommend:
      'Raise it (with TESSERA_ARGON2_TIME_COST) as far as your sign-in rate allows; each hash holds this much memory while it runs.',
  },
  argon2TimeCost: {
    env: 'TESSERA_ARGON2_TIME_COST',
    kind: 'int',
    default: '2',
    min: 1,
    max: 100,
    doc: 'Passes over the memory of each argon2id password hash. A password stored with other parameters is hashed again when its owner next signs in.',
  },
  argon2Parallelism: {
    env: 'TESSERA_ARGON2_PARALLELISM',
    kind: 'int',
    default: '1',
    min: 1,
    max: 64,
    doc: 'Lanes of each argon2id password hash. Tessera already hashes on one thread per core (but one), so 1 is right unless sign-ins are rare and memory is large. A password stored with other parameters is hashed again when its owner next signs in.',
  },
  passwordResetMaxPerAccount: {
    env: 'TESSERA_PASSWORD_RESET_MAX_PER_ACCOUNT',
    kind: 'int',
    default: '5',
    min: 1,
    max: 1000,
    doc: 'Reset links mailed to one account within an hour ("Forgot password?"); further requests get the same answer and no mail.',
  },
  passwordResetMaxPerIp: {
    env: 'TESSERA_PASSWORD_RESET_MAX_PER_IP',
    kind: 'int',
    default: '20',
    min: 1,
    max: 100000,
    doc: 'Password-reset requests from one address within an hour, for any account or none; further ones get the same answer and no mail.',
  },
  codeTtl: {
    env: 'TESSERA_CODE_TTL',
    kind: 'int',
    default: '60',
    min: 1,
    max: 600,
    doc: 'Lifetime of an authorization code, in seconds.',
  },
  deviceFlow: {
    env: 'TESSERA_DEVICE_FLOW',
    kind: 'bool',
    default: 'true',
    doc: 'The device authorization grant (RFC 8628, docs/device.md): `POST /device_authorization`, the `/device` pages and the `urn:ietf:params:oauth:grant-type:device_code` grant. `off` (or `false`): the endpoint and pages answer 404, the grant is unsupported and discovery does not advertise them.',
  },
  deviceCodeTtl: {
    env: 'TESSERA_DEVICE_CODE_TTL',
    kind: 'int',
    default: '600',
    min: 60,
    max: 3600,
    doc: 'Lifetime of a device code and its user code (`expires_in`), in seconds: the time a person has to type the code and allow the device.',
  },
  deviceInterval: {
    env: 'TESSERA_DEVICE_INTERVAL',
    kind: 'int',
    default: '5',
    min: 1,
    max: 60,
    doc: 'The seconds a device must wait between two polls of the token endpoint (`interval`); a device that polls sooner gets `slow_down` and 5 more seconds to wait from then on (RFC 8628 §3.5).',
  },
  deviceUserCodeMaxFailures: {
    env: 'TESSERA_DEVICE_USER_CODE_MAX_FAILURES',
    kind: 'int',
    default: '10',
    min: 1,
    max: 100000,
    doc: 'Wrong or expired user codes typed at `/device` from one address within TESSERA_DEVICE_USER_CODE_WINDOW_SECONDS; after that the page refuses with 429 until the window ends (RFC 8628 §5.1).',
  },
  deviceUserCodeWindow: {
    env: 'TESSERA_DEVICE_USER_CODE_WINDOW_SECONDS',
    kind: 'int',
    default: '900',
    min: 1,
    max: 86400,
    doc: 'The window of TESSERA_DEVICE_USER_CODE_MAX_FAILURES, in seconds.',
  },
  registration: {
    env: 'TESSERA_REGISTRATION',
    kind: 'enum',
    default: 'off',
    values: ['off', 'open', 'token'],
    doc: 'Dynamic client registration (RFC 7591, RFC 7592, docs/registration.md) at `/register`. `off`: `/register` answers 404 and discovery has no `registration_endpoint`; `open`: anyone may register a client; `token`: a registration needs an initial access token issued by an admin (`tessera registration-token create`). Self-registered clients get only what the TESSERA_REGISTRATION_* policy allows, always see the consent page, and are never first party.',
    recommend:
      '`token` when apps you know register themselves; `open` only for MCP clients and others you cannot know in advance, with the quota below.',
  },
  registrationScopes: {
    env: 'TESSERA_REGISTRATION_SCOPES',
    kind: 'string',
    default: 'openid profile email offline_access',
    doc: 'The scopes a self-registered client may hold (space-separated). Others it asks for at registration are dropped (RFC 7591 §2; the scopes of an API come with the API, when it is open to self-registered clients), and the response says which it got; one that asks for none is given all of these.',
  },
  registrationGrantTypes: {
    env: 'TESSERA_REGISTRATION_GRANT_TYPES',
    kind: 'string',
    default: 'authorization_code refresh_token',
    doc: 'The grant types a self-registered client may have (space-separated), among `authorization_code`, `refresh_token`, `client_credentials` and `urn:ietf:params:oauth:grant-type:device_code`. A registration asking for another is refused with `invalid_client_metadata`.',
  },
  registrationRateLimit: {
    env: 'TESSERA_REGISTRATION_RATE_LIMIT',
    kind: 'int',
    default: '10',
    min: 1,
    max: 100000,
    doc: 'Requests to `POST /register` from one address within TESSERA_REGISTRATION_RATE_WINDOW_SECONDS, successful or not; after that it answers 429 with `Retry-After` until the window ends. Counted in Redis when TESSERA_REDIS_URL is set.',
  },
  registrationRateWindow: {
    env: 'TESSERA_REGISTRATION_RATE_WINDOW_SECONDS',
    kind: 'int',
    default: '3600',
    min: 1,
    max: 86400,
    doc: 'The window of TESSERA_REGISTRATION_RATE_LIMIT, in seconds.',
  },
  accessTokenTtl: {
    env: 'TESSERA_ACCESS_TOKEN_TTL',
    kind: 'int',
    default: '3600',
    min: 1,
    doc: 'Lifetime of an access token, in seconds.',
  },
  defaultResource: {
    env: 'TESSERA_DEFAULT_RESOURCE',
    kind: 'url',
    doc: 'The identifier of a registered API (docs/apis.md) that an authorization request names when it names no `resource` (RFC 8707), for the clients allowed that API: the consent page shows it and the grant records it. Unset: such tokens are for Tessera itself (`aud` = the issuer), as before APIs existed. An identifier that names no registered API is ignored.',
  },
  refreshTokenTtl: {
    env: 'TESSERA_REFRESH_TOKEN_TTL',
    kind: 'int',
    default: '2592000',
    min: 1,
    doc: 'Lifetime of a refresh token family from the original grant, in seconds (30 days).',
  },
  refreshGrace: {
    env: 'TESSERA_REFRESH_GRACE_SECONDS',
    kind: 'int',
    default: '0',
    min: 0,
    max: 300,
    doc: 'How long a rotated refresh token may still be used by the same client (a lost response, two tabs). 0 turns it off, as RFC 9700 advises.',
  },
  tokenCache: {
    env: 'TESSERA_TOKEN_CACHE_SECONDS',
    kind: 'int',
    default: '2',
    min: 0,
    max: 60,
    doc: 'How long an instance may answer /introspect and /userinfo from an access token it read, and a signed-in browser (/authorize, pages) from the session, person and grant it read, without reading them again. A revocation, sign-out or other change counts at once on the instance that made it, and everywhere with Redis; without Redis, other instances see it within this time (a revoked token or app, an ended session, a deleted person, a changed password, profile or role; a code issued meanwhile from an ended session or a revoked grant is still refused at /token). 0 reads every time.',
  },
  idTokenTtl: {
    env: 'TESSERA_ID_TOKEN_TTL',
    kind: 'int',
    default: '3600',
    min: 1,
    doc: 'Lifetime of an ID token, in seconds.',
  },
  requirePkce: {
    env: 'TESSERA_REQUIRE_PKCE',
    kind: 'bool',
    default: 'false',
    doc: 'Require PKCE from every client, confidential ones too. Public clients always need it.',
    recommend: '`true` unless old confidential clients cannot send it.',
  },
  dpop: {
    env: 'TESSERA_DPOP',
    kind: 'bool',
    default: 'true',
    doc: 'DPoP (RFC 9449): a token request with a `DPoP` proof gets access tokens bound to its key (`token_type` `DPoP`), and discovery lists `dpop_signing_alg_values_supported`. `off` (or `false`): the `DPoP` header is ignored and every token is a Bearer token; clients registered with `dpop_bound_access_tokens` are then refused.',
  },
  dpopNonce: {
    env: 'TESSERA_DPOP_NONCE',
    kind: 'bool',
    default: 'false',
    doc: '`on` (or `true`): require a server nonce in every DPoP proof (RFC 9449 §8, §9): a proof without a current one is answered `use_dpop_nonce` with a fresh nonce in `DPoP-Nonce`. Nonces are derived from the instance secret and the time, so every instance sharing the secret accepts them; each lasts 60 to 120 seconds.',
    recommend:
      '`on` when the proofs are made by code you do not control well (browser apps): a stolen proof made ahead of time then fails.',
  },
  dpopProofWindow: {
    env: 'TESSERA_DPOP_PROOF_WINDOW_SECONDS',
    kind: 'int',
    default: '60',
    min: 5,
    max: 600,
    doc: "How old (by its `iat`) a DPoP proof may be, in seconds; a proof may also be up to 5 seconds ahead of this server's clock. Its `jti` is remembered for as long, so it is accepted once.",
  },
  requirePar: {
    env: 'TESSERA_REQUIRE_PAR',
    kind: 'bool',
    default: 'false',
    doc: 'Require pushed authorization requests (RFC 9126) from every client: /authorize then refuses any request that does not carry a `request_uri` from /par. Per client: `require_pushed_authorization_requests`.',
  },
  sessionTtl: {
    env: 'TESSERA_SESSION_TTL',
    kind: 'int',
    default: '1209600',
    min: 60,
    doc: 'Lifetime of a browser sign-in session, in seconds (14 days).',
  },
  keyRotationDays: {
    env: 'TESSERA_KEY_ROTATION_DAYS',
    kind: 'int',
    default: '90',
    min: 0,
    doc: 'Rotate signing keys automatically after this many days; 0 turns automatic rotation off.',
  },
  signinMaxFailures: {
    env: 'TESSERA_SIGNIN_MAX_FAILURES',
    kind: 'int',
    default: '10',
    min: 1,
    max: 1000,
    doc: 'Wrong passwords in a row for one account from one address (at sign-in, and when deleting the account) before that address is locked out of that account for TESSERA_SIGNIN_LOCKOUT_SECONDS; during a lockout even the right password is refused. The right password resets the count.',
  },
  signinDelayAfter: {
    env: 'TESSERA_SIGNIN_DELAY_AFTER',
    kind: 'int',
    default: '3',
    min: 0,
    max: 1000,
    doc: 'Wrong passwords in a row for one account from one address after which each further attempt must wait: TESSERA_SIGNIN_DELAY_SECONDS after the first, twice as long after each next one, until the lockout.',
  },
  signinDelay: {
    env: 'TESSERA_SIGNIN_DELAY_SECONDS',
    kind: 'int',
    default: '1',
    min: 0,
    max: 3600,
    doc: 'The first of the growing waits between sign-in attempts (see TESSERA_SIGNIN_DELAY_AFTER); 0 turns the waits off and leaves the lockouts.',
  },
  signinLockout: {
    env: 'TESSERA_SIGNIN_LOCKOUT_SECONDS',
    kind: 'int',
    default: '900',
    min: 1,
    max: 86400,
    doc: 'How long a sign-in lockout lasts (of one address from one account, of one account, or of one address), in seconds.',
  },
  signinAccountMaxFailures: {
    env: 'TESSERA_SIGNIN_ACCOUNT_MAX_FAILURES',
    kind: 'int',
    default: '100',
    min: 1,
    max: 100000,
    doc: 'Wrong passwords for one account from all addresses together within TESSERA_SIGNIN_WINDOW_SECONDS before the account is locked from everywhere for TESSERA_SIGNIN_LOCKOUT_SECONDS. This ceiling stops guessing spread over many addresses; it is also what someone with many addresses could use to keep a person out, so it is set well above the per-address limit.',
    recommend: 'At most 100, the ceiling NIST SP 800-63B §5.2.2 sets.',
  },
  signinIpMaxFailures: {
    env: 'TESSERA_SIGNIN_IP_MAX_FAILURES',
    kind: 'int',
    default: '200',
    min: 1,
    max: 100000,
    doc: 'Wrong passwords from one address for all accounts together within TESSERA_SIGNIN_WINDOW_SECONDS before that address may not sign in to any account for TESSERA_SIGNIN_LOCKOUT_SECONDS: it stops one address trying a few common passwords on many accounts.',
    recommend: 'Higher when many people share one address (a large office behind one NAT).',
  },
  signinWindow: {
    env: 'TESSERA_SIGNIN_WINDOW_SECONDS',
    kind: 'int',
    default: '3600',
    min: 1,
    max: 604800,
    doc: 'How long a wrong password counts towards the sign-in limits, in seconds, from the first one counted.',
  },
  signinKnownAddressDays: {
    env: 'TESSERA_SIGNIN_KNOWN_ADDRESS_DAYS',
    kind: 'int',
    default: '14',
    min: 0,
    max: 24,
    doc: 'An address from which a person signed in is remembered for their account this many days: while the whole account is locked (TESSERA_SIGNIN_ACCOUNT_MAX_FAILURES), that address may still try, within its own limit, so that guesses spread over many addresses do not keep the person out where they usually sign in. 0 turns it off.',
  },
  secondFactorMaxFailures: {
    env: 'TESSERA_SECOND_FACTOR_MAX_FAILURES',
    kind: 'int',
    default: '5',
    min: 1,
    max: 1000,
    doc: 'Wrong authenticator-app or recovery codes one account may send within TESSERA_SECOND_FACTOR_WINDOW_SECONDS, counted together wherever they are typed (sign-in, turning TOTP on or off, new recovery codes): the one that reaches the limit and every code after it, even a right one, is refused with 429 until the window ends. A right code starts the count again.',
  },
  secondFactorWindow: {
    env: 'TESSERA_SECOND_FACTOR_WINDOW_SECONDS',
    kind: 'int',
    default: '900',
    min: 1,
    max: 86400,
    doc: 'The window of TESSERA_SECOND_FACTOR_MAX_FAILURES, in seconds, from the first wrong code counted.',
  },
  emailCodeMaxFailures: {
    env: 'TESSERA_EMAIL_CODE_MAX_FAILURES',
    kind: 'int',
    default: '10',
    min: 1,
    max: 100000,
    doc: 'Wrong e-mailed codes (verification, sign-in, the one-time code API) one address may be sent within TESSERA_EMAIL_CODE_FAILURE_WINDOW_SECONDS, counted across every code sent to it whatever its purpose (a new code does not start the count again): past the limit every code for it, even a right one, is refused with 429 until the window ends. A right code starts the count again.',
  },
  emailCodeFailureWindow: {
    env: 'TESSERA_EMAIL_CODE_FAILURE_WINDOW_SECONDS',
    kind: 'int',
    default: '86400',
    min: 1,
    max: 604800,
    doc: 'The window of TESSERA_EMAIL_CODE_MAX_FAILURES, in seconds, from the first wrong code counted.',
  },
  emailCodeSendsPerIp: {
    env: 'TESSERA_EMAIL_CODE_SENDS_PER_IP',
    kind: 'int',
    default: '30',
    min: 1,
    max: 100000,
    doc: 'E-mailed codes one client address may ask for in an hour, whatever the addresses they go to (the one-time code API, the sign-in code page, "Send a new code"); past it, 429 until the hour ends.',
  },
  emailCodeVerifiesPerIp: {
    env: 'TESSERA_EMAIL_CODE_VERIFIES_PER_IP',
    kind: 'int',
    default: '100',
    min: 1,
    max: 100000,
    doc: 'E-mailed codes and verification links one client address may try in an hour, right or wrong, whatever the addresses; past it, 429 until the hour ends.',
  },
  secondFactorDailyMaxFailures: {
    env: 'TESSERA_SECOND_FACTOR_DAILY_MAX_FAILURES',
    kind: 'int',
    default: '20',
    min: 1,
    max: 100000,
    doc: 'Wrong authenticator-app or recovery codes one account may send within a day (86400 s from the first one counted), beside TESSERA_SECOND_FACTOR_MAX_FAILURES: the one that reaches it and every code after it, even a right one, is refused with 429 until the day ends. A right code does not start this count again, so guessing stays slow however it is spread: with the default, at most 20 guesses a day against a one-in-a-few-hundred-thousand chance each.',
  },
  reauthSeconds: {
    env: 'TESSERA_REAUTH_SECONDS',
    kind: 'int',
    default: '300',
    min: 0,
    max: 86400,
    doc: "How recent a sign-in must be, in seconds, for the account page to change a person's sign-in factors (add or remove a passkey, turn on an authenticator app) without asking for their password or a code again. 0 always asks.",
  },
  signupMaxPerIp: {
    env: 'TESSERA_SIGNUP_MAX_PER_IP',
    kind: 'int',
    default: '20',
    min: 1,
    max: 100000,
    doc: 'Sign-up attempts (at /signup and POST /api/users, successful or not) from one address within TESSERA_SIGNUP_WINDOW_SECONDS; further ones are refused until the window ends.',
  },
  signupWindow: {
    env: 'TESSERA_SIGNUP_WINDOW_SECONDS',
    kind: 'int',
    default: '3600',
    min: 1,
    max: 604800,
    doc: 'The window of TESSERA_SIGNUP_MAX_PER_IP, in seconds.',
  },
  clientIpMaxFailures: {
    env: 'TESSERA_CLIENT_IP_MAX_FAILURES',
    kind: 'int',
    default: '100',
    min: 0,
    max: 1000000,
    doc: 'Failed client authentications (`invalid_client`) at /token, /introspect and /revoke from one address, and failed codes or tokens (`invalid_grant`, `unauthorized_client`) of one public client from one address, within TESSERA_CLIENT_FAILURE_WINDOW_SECONDS, before that address (or that address for that public client) is refused there for TESSERA_CLIENT_BLOCK_SECONDS. A confidential client that proved its secret is never counted for a bad code or token, and successful requests are never counted. 0 turns it off.',
  },
  clientMaxFailures: {
    env: 'TESSERA_CLIENT_MAX_FAILURES',
    kind: 'int',
    default: '1000',
    min: 0,
    max: 1000000,
    doc: 'Failed authentications (`invalid_client`) of one client id at /token, /introspect and /revoke, from all addresses together, within TESSERA_CLIENT_FAILURE_WINDOW_SECONDS; past it, requests naming that client whose credentials are wrong are refused for TESSERA_CLIENT_BLOCK_SECONDS. Anyone may send a client id, so requests with the right credentials always go through. 0 turns it off.',
  },
  clientFailureWindow: {
    env: 'TESSERA_CLIENT_FAILURE_WINDOW_SECONDS',
    kind: 'int',
    default: '60',
    min: 1,
    max: 86400,
    doc: 'The window of TESSERA_CLIENT_IP_MAX_FAILURES and TESSERA_CLIENT_MAX_FAILURES, in seconds.',
  },
  clientBlock: {
    env: 'TESSERA_CLIENT_BLOCK_SECONDS',
    kind: 'int',
    default: '300',
    min: 1,
    max: 86400,
    doc: 'How long an address or a client that reached its failure limit is refused at /token, /introspect and /revoke, in seconds.',
  },
  clientAssertionMaxLifetime: {
    env: 'TESSERA_CLIENT_ASSERTION_MAX_LIFETIME',
    kind: 'int',
    default: '300',
    min: 10,
    max: 3600,
    doc: 'How far ahead, in seconds, the `exp` of a client assertion (private_key_jwt, client_secret_jwt) or of a JWT bearer grant assertion may be: a longer-lived one is refused. Its `jti` is remembered that long, so it works once.',
  },
  jwksUriTimeout: {
    env: 'TESSERA_JWKS_URI_TIMEOUT_MS',
    kind: 'int',
    default: '3000',
    min: 100,
    max: 30000,
    doc: 'Deadline, in milliseconds, for fetching the JWK Set at a client’s `jwks_uri`.',
  },
  jwksUriCache: {
    env: 'TESSERA_JWKS_URI_CACHE_SECONDS',
    kind: 'int',
    default: '600',
    min: 0,
    max: 86400,
    doc: 'How long a JWK Set fetched from a client’s `jwks_uri` is used before it is fetched again.',
  },
  jwksUriCooldown: {
    env: 'TESSERA_JWKS_URI_COOLDOWN_SECONDS',
    kind: 'int',
    default: '30',
    min: 0,
    max: 3600,
    doc: 'An assertion signed with a key (`kid`) that a client’s `jwks_uri` did not list makes Tessera fetch it again (the client rotated its keys), at most once per this many seconds per client.',
  },
  cimd: {
    env: 'TESSERA_CIMD',
    kind: 'bool',
    default: 'true',
    doc: 'Client ID Metadata Documents (docs/client-metadata-documents.md): `on` or `off` (or true/false). On, a `client_id` that is an https URL with a path is fetched and its document describes the client; off, such ids are unknown clients and discovery does not advertise `client_id_metadata_document_supported`.',
  },
  cimdAllowHosts: {
    env: 'TESSERA_CIMD_ALLOW_HOSTS',
    kind: 'string',
    doc: 'The only hosts whose client metadata documents are accepted, separated by commas or spaces; `*.example.com` matches every name below example.com (not example.com itself). Unset: any public host.',
  },
  cimdDenyHosts: {
    env: 'TESSERA_CIMD_DENY_HOSTS',
    kind: 'string',
    doc: 'Hosts whose client metadata documents are refused, in the same form as TESSERA_CIMD_ALLOW_HOSTS; a host on both lists is refused.',
  },
  cimdAllowLoopback: {
    env: 'TESSERA_CIMD_ALLOW_LOOPBACK',
    kind: 'bool',
    default: 'false',
    doc: 'Fetch client metadata documents from loopback addresses (127.0.0.0/8, ::1, localhost), over http too, and over https from a loopback IP address without checking its certificate (a development server’s is self-signed): for development and tests. The same setting lets the `jwks_uri` of a client that registered itself or published a metadata document be on loopback. Refused at start when `NODE_ENV=production`. Private and link-local addresses stay refused.',
  },
  auditRetentionDays: {
    env: 'TESSERA_AUDIT_RETENTION_DAYS',
    kind: 'int',
    default: '365',
    min: 0,
    max: 36500,
    doc: 'Audit events older than this many days are deleted by the purge job (TESSERA_PURGE_INTERVAL); 0 keeps them forever.',
  },
  purgeInterval: {
    env: 'TESSERA_PURGE_INTERVAL',
    kind: 'int',
    default: '600',
    min: 0,
    doc: 'Seconds between purges of expired codes, tokens and sessions, and of audit events past TESSERA_AUDIT_RETENTION_DAYS; 0 turns the job off.',
  },
  tokenExchange: {
    env: 'TESSERA_TOKEN_EXCHANGE',
    kind: 'bool',
    default: 'true',
    doc: 'Token exchange (RFC 8693, grant type `urn:ietf:params:oauth:grant-type:token-exchange`, docs/token-exchange.md): `on` or `off` (or true/false). Off, the grant is refused with `unsupported_grant_type` and not advertised in discovery; each client needs the grant and its exchange policy besides.',
  },
  trustedIssuers: {
    env: 'TESSERA_TRUSTED_ISSUERS',
    kind: 'string',
    doc: 'OpenID providers whose ID tokens token exchange accepts as subject tokens: a JSON list of `{"issuer": "https://…", "audience": "…", "jwks_uri": "https://…"}`; `audience` is what their ID tokens must name in `aud` (your client id there), `jwks_uri` is read from the issuer\'s `/.well-known/openid-configuration` when left out. Only clients that list the issuer in `token_exchange_trusted_issuers` may use it. Unset: none.',
  },
  dataDir: {
    env: 'TESSERA_DATA_DIR',
    kind: 'string',
    default: './data',
    doc: 'Folder for the generated development secret and the default SQLite file.',
  },
} as const satisfies Record<string, Setting>;

type Settings = typeof settings;
type ValueOf<S extends Setting> = S['kind'] extends 'int'
  ? number
  : S['kind'] extends 'bool'
    ? boolean
    : S extends { values: readonly (infer V)[] }
      ? V
      : string;
type Resolved<S extends Setting> = S extends { default: string }
  ? ValueOf<S>
  : ValueOf<S> | undefined;

export type Config = { [K in keyof Settings]: Resolved<Settings[K]> } & {
  /** Parsed from databaseUrl. */
  database: { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };
  /**
   * The issuer's path, "" or e.g. "/tenant-a": every route but the probes is served under it,
   * and every link, redirect and cookie path the pages make starts with it.
   */
  issuerPath: string;
};

export type Env = Record<string, string | undefined>;

/** Letters, digits and `-._~` (RFC 3986's unreserved characters): nothing a router or a browser rewrites. */
const ISSUER_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * TESSERA_ISSUER, checked. Clients compare the issuer exactly (RFC 8414 §3.3, OpenID Connect
 * Discovery §4.3) and every route lives under its path, so it must be written as a URL parser
 * writes it. A host alone may end with "/" (it is the same URL); a path may not, since
 * `https://id.example.com/a/` and `https://id.example.com/a` are two issuers to a client.
 */
function parseIssuer(raw: string, url: URL, fail: (message: string) => never): string {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('must be an http(s) URL');
  if (url.search || url.hash || raw.includes('?') || raw.includes('#'))
    fail('must not have a query or fragment');
  if (url.username || url.password) fail('must not hold a user name or password');
  const path = url.pathname === '/' ? '' : url.pathname;
  if (path.endsWith('/')) {
    fail(
      `must not end with "/" after a path: clients compare the issuer exactly, so write "${url.origin}${path.replace(/\/+$/, '')}"`,
    );
  }
  const segments = path.split('/').slice(1);
  if (segments.some((s) => !ISSUER_SEGMENT.test(s) || s === '.' || s === '..')) {
    fail(
      `its path may hold only letters, digits and "-", ".", "_", "~" between single slashes, got "${path}"`,
    );
  }
  if (segments[0] === '.well-known')
    fail('its path must not start with /.well-known, which RFC 8615 keeps for metadata');
  // The probes answer at the root (app.ts): the front door at the same path would collide.
  if (path === '/healthz' || path === '/readyz')
    fail(`its path must not be ${path}, where the probes answer`);
  const issuer = `${url.origin}${path}`;
  const written = path === '' && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (written !== issuer)
    fail(`must be written as "${issuer}": clients compare the issuer exactly`);
  return issuer;
}

/** The issuer's path: "" for a host alone, else e.g. "/tenant-a" (no trailing slash). */
export function issuerPathOf(issuer: string): string {
  const { pathname } = new URL(issuer);
  return pathname === '/' ? '' : pathname;
}

function parseValue(setting: Setting, raw: string): string | number | boolean {
  const fail = (message: string): never => {
    throw new ConfigError(setting.env, message);
  };
  switch (setting.kind) {
    case 'int': {
      if (!/^\d+$/.test(raw)) fail(`must be a whole number, got "${raw}"`);
      const n = Number(raw);
      if (setting.min !== undefined && n < setting.min) fail(`must be at least ${setting.min}`);
      if (setting.max !== undefined && n > setting.max) fail(`must be at most ${setting.max}`);
      return n;
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return fail(`must be true or false, got "${raw}"`);
    }
    case 'enum':
      if (!setting.values?.includes(raw)) fail(`must be one of ${setting.values?.join(', ')}`);
      return raw;
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return fail(`must be an absolute URL, got "${raw}"`);
      }
      if (setting.env === 'TESSERA_ISSUER') return parseIssuer(raw, url, fail);
      // `localhost:6379` parses as a URL with the scheme `localhost:`; say so now, not at first use.
      if (setting.env === 'TESSERA_REDIS_URL' && !/^rediss?:$/.test(url.protocol)) {
        fail('must be a redis:// or rediss:// URL');
      }
      if (setting.env === 'TESSERA_SMTP_URL' && !/^smtps?:$/.test(url.protocol)) {
        fail('must be an smtp:// or smtps:// URL');
      }
      return raw;
    }
    default:
      if (setting.env === 'TESSERA_TRUSTED_ISSUERS') parseTrustedIssuers(raw);
      if (setting.env === 'TESSERA_TRUST_PROXY' && parseTrustProxy(raw) === undefined) {
        fail(
          `must be true, false, a number of hops, or proxy addresses and CIDR ranges separated by commas, got "${raw}"`,
        );
      }
      if (setting.min !== undefined && raw.length < setting.min) {
        fail(`must be at least ${setting.min} characters long`);
      }
      return raw;
  }
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address or CIDR range as proxy-addr (Fastify's trustProxy) reads it. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (version === 4 ? 32 : 128);
}

/** Fastify's `trustProxy`: whether the proxy `hops` away at `address` is believed. */
export type TrustProxy = boolean | string[] | ((address: string, hops: number) => boolean);

/**
 * TESSERA_TRUST_PROXY as Fastify's `trustProxy` option: a boolean, a hop
 * count, or a list of addresses; undefined when the value is none of these.
 */
export function parseTrustProxy(raw: string): TrustProxy | undefined {
  const value = raw.trim().toLowerCase();
  if (value === 'false' || value === '') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    // As Fastify reads a number, which its types do not allow.
    const count = Number(value);
    return count <= 100 ? (_address, hops) => hops < count : undefined;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  return entries.every(isProxyAddress) ? entries : undefined;
}

/** One entry of TESSERA_TRUSTED_ISSUERS: an OpenID provider whose ID tokens may be exchanged. */
export interface TrustedIssuer {
  issuer: string;
  /** What the provider's ID tokens must hold in `aud`. */
  audience: string;
  /** Read from the issuer's discovery document when not configured. */
  jwksUri: string | undefined;
}

/** TESSERA_TRUSTED_ISSUERS, read; throws ConfigError naming what is wrong. */
export function parseTrustedIssuers(raw: string | undefined): TrustedIssuer[] {
  if (raw === undefined || raw.trim() === '') return [];
  const fail = (message: string): never => {
    throw new ConfigError('TESSERA_TRUSTED_ISSUERS', message);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail('must be a JSON list of {"issuer", "audience", "jwks_uri"?} objects');
  }
  if (!Array.isArray(parsed)) return fail('must be a JSON list');
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    const { issuer, audience, jwks_uri: jwksUri } = (entry ?? {}) as Record<string, unknown>;
    const isHttpUrl = (value: unknown) => {
      if (typeof value !== 'string') return false;
      try {
        return ['https:', 'http:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    };
    if (!isHttpUrl(issuer)) fail(`entry ${i}: "issuer" must be an http(s) URL`);
    if (typeof audience !== 'string' || audience === '')
      fail(`entry ${i}: "audience" must be a non-empty string`);
    if (jwksUri !== undefined && !isHttpUrl(jwksUri))
      fail(`entry ${i}: "jwks_uri" must be an http(s) URL`);
    if (seen.has(issuer as string)) fail(`entry ${i}: ${String(issuer)} is listed twice`);
    seen.add(issuer as string);
    return {
      issuer: issuer as string,
      audience: audience as string,
      jwksUri: jwksUri as string | undefined,
    };
  });
}

function parseDatabase(url: string): Config['database'] {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path)
      throw new ConfigError(
        'DATABASE_URL',
        'sqlite: needs a path, e.g. sqlite:./data/tessera.sqlite',
      );
    return { dialect: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  throw new ConfigError('DATABASE_URL', 'must start with sqlite: or postgres://');
}

/** Reads and validates every setting; throws ConfigError on the first bad one. Pure: no I/O. */
export function parseConfig(env: Env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings) as [string, Setting][]) {
    const raw = env[setting.env];
    const value = raw === undefined || raw === '' ? setting.default : raw;
    out[key] = value === undefined ? undefined : parseValue(setting, value);
  }
  const config = out as Omit<Config, 'database' | 'issuerPath'>;
  if (config.nodeEnv === 'production' && !config.secret) {
    throw new ConfigError('TESSERA_SECRET', 'is required when NODE_ENV=production');
  }
  // Sign-up verification, e-mailed codes, password reset and security notices are always on.
  if (config.nodeEnv === 'production' && !config.smtpUrl) {
    throw new ConfigError(
      'TESSERA_SMTP_URL',
      'is required when NODE_ENV=production: verification, codes, password reset and security notices send mail',
    );
  }
  checkRegistrationGrantTypes(config.registrationGrantTypes);
  if (config.nodeEnv === 'production' && config.cimdAllowLoopback) {
    throw new ConfigError(
      'TESSERA_CIMD_ALLOW_LOOPBACK',
      'must not be set when NODE_ENV=production: it lets any client id make Tessera call its own machine',
    );
  }
  if (config.webauthnRpId !== undefined) checkRpId(config.webauthnRpId, config.issuer);
  return {
    ...config,
    database: parseDatabase(config.databaseUrl),
    issuerPath: issuerPathOf(config.issuer),
  } as Config;
}

/**
 * TESSERA_WEBAUTHN_RP_ID must be the issuer's host or a suffix of it of at least two labels
 * (WebAuthn §5.1.3: a browser refuses any other). A public suffix such as `co.uk` passes this
 * check and is refused by browsers: the error then shows at the first passkey ceremony.
 */
function checkRpId(rpId: string, issuer: string): void {
  const host = new URL(issuer).hostname;
  const fail = (message: string): never => {
    throw new ConfigError('TESSERA_WEBAUTHN_RP_ID', message);
  };
  if (rpId === host) return;
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) {
    fail(`must be the issuer's host "${host}": an IP address has no other domain`);
  }
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(rpId)) {
    fail(`must be a lowercase domain name of at least two labels, got "${rpId}"`);
  }
  if (!host.endsWith(`.${rpId}`)) {
    fail(`must be the issuer's host "${host}" or a domain it is under, got "${rpId}"`);
  }
}

/** What TESSERA_REGISTRATION_GRANT_TYPES may hold: grants that need no setting only an admin can make. */
const REGISTRATION_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
];

function checkRegistrationGrantTypes(value: string): void {
  for (const type of value.split(' ').filter(Boolean)) {
    if (!REGISTRATION_GRANT_TYPES.includes(type)) {
      throw new ConfigError(
        'TESSERA_REGISTRATION_GRANT_TYPES',
        `"${type}" cannot be given to self-registered clients (one of: ${REGISTRATION_GRANT_TYPES.join(', ')})`,
      );
    }
  }
}

/**
 * Fills in the instance secret for development: read from `data/secret`, or
 * generated there on first start. Production never reaches this (parseConfig demands one).
 */
export function ensureSecret(config: Config): Config & { secret: string } {
  if (config.secret) return config as Config & { secret: string };
  const file = join(config.dataDir, 'secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 32)
      throw new ConfigError('TESSERA_SECRET', `${file} holds a secret shorter than 32 characters`);
    return { ...config, secret };
  }
  const secret = randomToken(32);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { ...config, secret };
}

/** Warnings about unsafe settings, printed at start. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.nodeEnv === 'production' && !config.issuer.startsWith('https:')) {
    warnings.push('TESSERA_ISSUER is not https: tokens and cookies travel in the clear');
  }
  if (config.adminKey && config.adminKey.length < 32) {
    warnings.push('TESSERA_ADMIN_KEY is shorter than 32 characters');
  }
  return warnings;
}
