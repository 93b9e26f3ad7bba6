/**
 * Every error code an endpoint of Tessera can answer, with its HTTP status and
 * what it means: the one list. Like config.ts for settings, it sits beside the
 * layers rather than in one, imports nothing, and is imported by each of them:
 * oauth/errors.ts takes its codes and statuses from here, and so do the HTTP
 * error handler, the admin API and the account API; `error` in every error body
 * is typed by it, so no code can be answered that is not listed here.
 * docs/errors.md lists the same entries, and test/docs/errors.test.ts checks
 * that the two agree both ways.
 *
 * Codes are stable: clients branch on them. Descriptions here say what a code
 * means; each answer's `error_description` says what was wrong with that request.
 */

/** Who reads the answer: the protocol endpoints, the admin API, the account API, the HTML pages. */
export type Surface = 'oauth' | 'admin' | 'account' | 'pages';

export const SURFACES: readonly Surface[] = ['oauth', 'admin', 'account', 'pages'];

/** A status list with the usual status first. */
type Statuses = readonly [number, ...number[]];

export interface ErrorDefinition {
  /** The status when the error is answered directly (the one protocol code uses by default). */
  readonly status: number;
  /** What the code means, on every surface that answers it; docs/errors.md says the same. */
  readonly description: string;
  /** What the code means besides, on one surface (appended to the description there). */
  readonly notes?: Readonly<Partial<Record<Surface, string>>>;
  /** Where it is defined, for the codes of a specification. */
  readonly spec?: string;
  /** The surfaces that answer it, each with the statuses it comes with there. */
  readonly surfaces: Readonly<Partial<Record<Surface, Statuses>>>;
}

export const ERRORS = {
  invalid_request: {
    status: 400,
    spec: 'RFC 6749 §4.1.2.1, §5.2',
    description:
      'The request is malformed: a parameter or field is missing, repeated, too long, of the wrong type, holds a control character, or breaks a rule, and `error_description` names it. 413: a body over 64 KiB; 414: an over-long URL path segment; 415: a content type the endpoint does not take.',
    notes: {
      oauth:
        '401 at /userinfo when no access token is sent (RFC 6750 §3.1), with a bare `WWW-Authenticate: Bearer` challenge; 403 when the /logout confirmation form comes back without its CSRF token; 405 at /par for any method but POST (RFC 9126 §2.3).',
      admin: '`field` names the field at fault.',
      account: '`field` names the field at fault.',
      pages: '403 when a form comes back without its CSRF token.',
    },
    surfaces: {
      oauth: [400, 401, 403, 405, 413, 414, 415],
      admin: [400, 413, 414, 415],
      account: [400, 413, 414, 415],
      pages: [400, 403, 413, 414, 415],
    },
  },
  invalid_client: {
    status: 401,
    spec: 'RFC 6749 §5.2',
    description:
      'Client authentication failed (unknown client, wrong or missing secret, a method the client is not registered for), answered with `WWW-Authenticate: Basic`; at /authorize, an unknown `client_id`, shown as a page (400) and never redirected. For a `client_id` that is the URL of a Client ID Metadata Document, also a document that could not be fetched or was refused, `error_description` saying why (docs/client-metadata-documents.md).',
    surfaces: { oauth: [401, 400] },
  },
  invalid_grant: {
    status: 400,
    spec: 'RFC 6749 §5.2',
    description:
      'The authorization code or refresh token is invalid, expired, spent or revoked, or was issued to another client, for another redirect URI, or with another PKCE challenge.',
    surfaces: { oauth: [400] },
  },
  unauthorized_client: {
    status: 400,
    spec: 'RFC 6749 §5.2',
    description:
      'The client is not allowed to do this: a grant or response type it is not registered for, or (at /revoke) a token issued to another client.',
    surfaces: { oauth: [400] },
  },
  unsupported_grant_type: {
    status: 400,
    spec: 'RFC 6749 §5.2',
    description: 'The token endpoint does not support this `grant_type`.',
    surfaces: { oauth: [400] },
  },
  unsupported_response_type: {
    status: 400,
    spec: 'RFC 6749 §4.1.2.1',
    description: 'The authorization endpoint does not support this `response_type`.',
    surfaces: { oauth: [400] },
  },
  invalid_scope: {
    status: 400,
    spec: 'RFC 6749 §4.1.2.1, §5.2',
    description:
      'A requested scope is unknown, not allowed for this client, or (on refresh) beyond what was granted.',
    surfaces: { oauth: [400] },
  },
  invalid_target: {
    status: 400,
    spec: 'RFC 8693 §2.2.2, RFC 8707 §2',
    description:
      'The requested `resource` (RFC 8707) or token exchange `audience` is not a registered API this client may obtain tokens for, is not an absolute URI without a fragment, names more than one target in a token request, or (code, refresh and device grants) was not named by the authorization request.',
    surfaces: { oauth: [400] },
  },
  invalid_redirect_uri: {
    status: 400,
    spec: 'RFC 7591 §3.2.2',
    description:
      'At /register: a redirect URI is not allowed for a self-registered client (not https or loopback http, a fragment, a forbidden scheme, a private-use scheme for a web app); `error_description` names it.',
    surfaces: { oauth: [400] },
  },
  invalid_client_metadata: {
    status: 400,
    spec: 'RFC 7591 §3.2.2',
    description:
      'At /register: a metadata value is invalid or outside the registration policy (a grant type, scope, response type or authentication method a self-registered client may not have), or (RFC 7592) the `client_id` or `client_secret` of an update does not match; `error_description` names the field.',
    surfaces: { oauth: [400] },
  },
  access_denied: {
    status: 403,
    spec: 'RFC 6749 §4.1.2.1, RFC 8628 §3.5',
    description: 'The person denied the request on the consent page.',
    notes: {
      oauth:
        'At /token, 400: the person denied a device authorization (RFC 8628); the device should stop polling.',
    },
    surfaces: { oauth: [403, 400] },
  },
  authorization_pending: {
    status: 400,
    spec: 'RFC 8628 §3.5',
    description:
      'At /token, for a device code: the person has not yet answered at /device. Poll again after `interval` seconds.',
    surfaces: { oauth: [400] },
  },
  slow_down: {
    status: 400,
    spec: 'RFC 8628 §3.5',
    description:
      'At /token, for a device code: polled sooner than `interval` seconds after the previous poll. The interval has grown by 5 seconds, for this and every later poll of the code.',
    surfaces: { oauth: [400] },
  },
  expired_token: {
    status: 400,
    spec: 'RFC 8628 §3.5',
    description:
      'At /token, for a device code: the device code has expired (`expires_in`) before it was used. Start again with a new device authorization request.',
    surfaces: { oauth: [400] },
  },
  login_required: {
    status: 400,
    spec: 'OpenID Connect Core §3.1.2.6',
    description: '`prompt=none` was sent, and the person would have to sign in.',
    surfaces: { oauth: [400] },
  },
  consent_required: {
    status: 400,
    spec: 'OpenID Connect Core §3.1.2.6',
    description: '`prompt=none` was sent, and the person would have to consent.',
    surfaces: { oauth: [400] },
  },
  interaction_required: {
    status: 400,
    spec: 'OpenID Connect Core §3.1.2.6',
    description:
      '`prompt=none` was sent, and the request needs the person to do something other than sign in or consent.',
    surfaces: { oauth: [400] },
  },
  unmet_authentication_requirements: {
    status: 400,
    spec: 'OpenID Connect unmet_authentication_requirements 1.0',
    description:
      'No way of signing in reaches what the request requires: an `acr` asked for as an essential claim.',
    surfaces: { oauth: [400] },
  },
  request_not_supported: {
    status: 400,
    spec: 'OpenID Connect Core §3.1.2.6',
    description: 'The `request` parameter (a request object) is not supported.',
    surfaces: { oauth: [400] },
  },
  request_uri_not_supported: {
    status: 400,
    spec: 'OpenID Connect Core §3.1.2.6',
    description:
      'The `request_uri` parameter is supported only with a value from /par (RFC 9126): request objects by reference are not.',
    surfaces: { oauth: [400] },
  },
  invalid_request_uri: {
    status: 400,
    spec: 'RFC 9101 §6.2, RFC 9126 §4',
    description:
      'At /authorize, the `request_uri` from /par is unknown, has expired (it lives 60 seconds), has been used, or was pushed by another client; shown as a page (the redirect URI it holds cannot be trusted) and never redirected.',
    surfaces: { oauth: [400] },
  },
  invalid_token: {
    status: 401,
    spec: 'RFC 6750 §3.1',
    description:
      'The access token is malformed, expired or revoked, or its person or client no longer exists; answered with `WWW-Authenticate: Bearer`. At /register, the initial access token is missing, unknown, expired or used up; at /register/{client_id}, the registration access token is missing or not this client’s.',
    surfaces: { oauth: [401] },
  },
  insufficient_scope: {
    status: 403,
    spec: 'RFC 6750 §3.1',
    description:
      'The access token is valid but lacks the scope the endpoint needs (`openid` for /userinfo); `WWW-Authenticate` names it.',
    surfaces: { oauth: [403] },
  },
  invalid_dpop_proof: {
    status: 400,
    spec: 'RFC 9449 §5, §7.1',
    description:
      'The DPoP proof is missing where one is needed, or fails a check of RFC 9449 §4.3 (more than one, not a JWT, wrong `typ`, an algorithm that is not asymmetric or not supported, a private or missing `jwk`, a bad signature, `htm` or `htu` not this request, `iat` too old or ahead, a `jti` already used, `ath` not the hash of the access token), and `error_description` says which.',
    notes: {
      oauth:
        '401 at /userinfo, with `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (RFC 9449 §7.1).',
    },
    surfaces: { oauth: [400, 401] },
  },
  use_dpop_nonce: {
    status: 400,
    spec: 'RFC 9449 §8, §9',
    description:
      'The server requires a nonce in DPoP proofs (`TESSERA_DPOP_NONCE=on`) and the proof had none, or an old one: make the proof again with the nonce of the `DPoP-Nonce` response header.',
    notes: {
      oauth: '401 at /userinfo, with `WWW-Authenticate: DPoP error="use_dpop_nonce"`.',
    },
    surfaces: { oauth: [400, 401] },
  },
  unauthorized: {
    status: 401,
    description:
      'No admin credentials, or wrong ones: send `X-Admin-Key` or sign in as an admin. Answered with `WWW-Authenticate: AdminKey`.',
    surfaces: { admin: [401] },
  },
  forbidden: {
    status: 403,
    description: 'The request is not allowed.',
    notes: {
      admin: 'A signed-in person without the admin role.',
      account: 'Self sign-up is turned off (`TESSERA_SIGNUP_ENABLED=false`).',
    },
    surfaces: { admin: [403], account: [403] },
  },
  invalid_passkey: {
    status: 400,
    description:
      'At the passkey endpoints (`/account/passkeys`, `/login/passkey`, `/login/second-factor/passkey`, each with its `/options`): the passkey ceremony failed a check, and `error_description` says which: no ceremony was started in this browser or it is older than 5 minutes, its challenge was used already, the response is of another origin or relying party or its signature is wrong, the user was not verified where that is required, the passkey is unknown, of another person or registered already, or its signature counter went backwards (a cloned authenticator). Start again with a new `/options` request. 401: no signed-in session (`/account/passkeys`), or no sign-in waiting for its second factor (`/login/second-factor/passkey`).',
    surfaces: { pages: [400, 401] },
  },
  reauthentication_required: {
    status: 401,
    description:
      'At `POST /account/passkeys/options`: adding a passkey changes how the person signs in, and their sign-in is older than `TESSERA_REAUTH_SECONDS`, so the request must carry their password or a code (authenticator app or recovery code) as `confirm`; it was missing or not right (`field` is `confirm`). 429 with `Retry-After` when a limit refused the password or code. Sign in again, or send `confirm`.',
    surfaces: { pages: [401, 429] },
  },
  not_found: {
    status: 404,
    description: 'Nothing here: no route for this method and path.',
    notes: {
      admin: 'Or no client or person with the id in the path.',
      pages:
        'Or no session or connected app of the signed-in person with the id in the path, or the sign-up page while self sign-up is off.',
    },
    surfaces: { oauth: [404], admin: [404], account: [404], pages: [404] },
  },
  conflict: {
    status: 409,
    description: 'The username or e-mail address is already taken; `field` names which.',
    surfaces: { admin: [409], account: [409] },
  },
  too_many_requests: {
    status: 429,
    description:
      'Refused by an abuse limit before the request was looked at; `Retry-After` says when to try again.',
    notes: {
      oauth:
        'Too many failed requests at /token, /par, /introspect or /revoke from the address or for the client; at /register, too many registrations from the address (TESSERA_REGISTRATION_RATE_LIMIT).',
      account:
        'Too many sign-ups from the address; at /api/otp/send, a code was sent to the address less than a minute ago, or five times within the hour.',
    },
    surfaces: { oauth: [429], account: [429] },
  },
  invalid_code: {
    status: 400,
    description:
      'At /api/otp/verify: the code is wrong (`error_description` says how many tries are left), has expired (it lives 10 minutes), was used, or none was sent to the address.',
    surfaces: { account: [400] },
  },
  too_many_attempts: {
    status: 429,
    description:
      'At /api/otp/verify: the code was tried 5 times, so no try counts any more, right or wrong (`Retry-After`: seconds until a new code may be sent); or 10 wrong codes were typed for the address within a day (TESSERA_EMAIL_CODE_MAX_FAILURES), or the client address tried 100 codes within an hour (TESSERA_EMAIL_CODE_VERIFIES_PER_IP): no code is tried, even a right one, for `Retry-After` seconds.',
    surfaces: { account: [429] },
  },
  temporarily_unavailable: {
    status: 503,
    spec: 'RFC 6749 §4.1.2.1',
    description:
      'The database is locked by another process or out of reach; nothing was changed, and `Retry-After` says when to try again.',
    surfaces: { oauth: [503], admin: [503], account: [503], pages: [503] },
  },
  server_error: {
    status: 500,
    spec: 'RFC 6749 §4.1.2.1',
    description:
      'An unexpected failure: a bug. It is logged with the `request_id` the answer carries.',
    surfaces: { oauth: [500], admin: [500], account: [500], pages: [500] },
  },
} as const satisfies Record<string, ErrorDefinition>;

/** Every code an endpoint can answer. */
export type ErrorCode = keyof typeof ERRORS;

/** The codes of one surface. */
export type SurfaceCode<S extends Surface> = {
  [C in ErrorCode]: S extends keyof (typeof ERRORS)[C]['surfaces'] ? C : never;
}[ErrorCode];

/** The codes the protocol endpoints answer, and so the codes an OAuthError may carry. */
export type OAuthErrorCode = SurfaceCode<'oauth'>;

/** The body of every error answered as JSON (and the data of every error page). */
export interface ErrorBody {
  error: ErrorCode;
  error_description: string;
  /** The input field at fault, when one is. */
  field?: string;
  /** On a 500: the id the log entry carries. */
  request_id?: string;
}

/** What `code` means on `surface`: its description, and the surface's note if it has one. */
export function meaningOn(code: ErrorCode, surface: Surface): string {
  const entry: ErrorDefinition = ERRORS[code];
  const note = entry.notes?.[surface];
  return note ? `${entry.description} ${note}` : entry.description;
}

/** The status `code` is answered with by default. */
export function statusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}
