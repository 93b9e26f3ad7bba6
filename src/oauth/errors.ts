import { type OAuthErrorCode, statusOf } from '../error-catalogue.js';
import { DPOP_ALGS } from './dpop-algs.js';

/**
 * OAuthError and one subclass per RFC error code: the only place that shapes
 * protocol error bodies. Protocol code throws these; one handler renders them
 * as JSON, a redirect or a page. Codes and their statuses come from the error
 * catalogue (src/error-catalogue.ts).
 */
export class OAuthError extends Error {
  /** HTTP status when answered directly; the catalogue's for the code unless a case says otherwise. */
  status: number;
  /** Extra response headers (WWW-Authenticate). */
  headers: Record<string, string> = {};
  /**
   * False for errors that must never be sent to a redirect URI (unknown client,
   * unregistered redirect URI): the handler shows a page instead.
   */
  redirectable = true;

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(description, options);
    this.name = 'OAuthError';
    this.status = statusOf(error);
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string, options?: { cause?: unknown }) {
    super('invalid_request', description, options);
  }
}

export class InvalidClient extends OAuthError {
  constructor(description: string, options?: { cause?: unknown }) {
    super('invalid_client', description, options);
    // RFC 6749 §5.2: a 401 names the HTTP authentication schemes the endpoint supports, and a
    // client that tried Basic must get the Basic challenge back; HTTP requires a challenge on
    // every 401, so a client that sent its secret in the body is told about Basic too.
    this.headers['www-authenticate'] = 'Basic realm="tessera"';
    this.redirectable = false;
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string, options?: { cause?: unknown }) {
    super('invalid_grant', description, options);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', description);
  }
}

export class UnsupportedResponseType extends OAuthError {
  constructor(description: string) {
    super('unsupported_response_type', description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description);
  }
}

/** RFC 8693 §2.2.2: no token can be issued for the requested audience or resource. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', description);
  }
}

export class AccessDenied extends OAuthError {
  constructor(description: string) {
    super('access_denied', description);
  }
}

/** RFC 8628 §3.5: the person has not answered the device authorization yet. */
export class AuthorizationPending extends OAuthError {
  constructor(description: string) {
    super('authorization_pending', description);
  }
}

/** RFC 8628 §3.5: the device polled too soon; its interval grows by 5 seconds. */
export class SlowDown extends OAuthError {
  constructor(description: string) {
    super('slow_down', description);
  }
}

/** RFC 8628 §3.5: the device code expired before it was used. */
export class ExpiredToken extends OAuthError {
  constructor(description: string) {
    super('expired_token', description);
  }
}

export class LoginRequired extends OAuthError {
  constructor(description = 'the end-user is not signed in') {
    super('login_required', description);
  }
}

export class ConsentRequired extends OAuthError {
  constructor(description = 'the end-user has not consented to this request') {
    super('consent_required', description);
  }
}

export class InteractionRequired extends OAuthError {
  constructor(description: string) {
    super('interaction_required', description);
  }
}

/**
 * The sign-in cannot reach what the request required of it: an `acr` asked for as an Essential
 * Claim (OpenID Connect Core §5.5.1.1; the code is OpenID Connect Core Error Code
 * unmet_authentication_requirements 1.0).
 */
export class UnmetAuthenticationRequirements extends OAuthError {
  constructor(description: string) {
    super('unmet_authentication_requirements', description);
  }
}

export class RequestNotSupported extends OAuthError {
  constructor(description: string) {
    super('request_not_supported', description);
  }
}

export class RequestUriNotSupported extends OAuthError {
  constructor(description: string) {
    super('request_uri_not_supported', description);
  }
}

/**
 * A request_uri from /par that is unknown, expired, used or another client's (RFC 9126 §4; the
 * code is RFC 9101's): the redirect URI it would name cannot be trusted, so it is shown as a page.
 */
export class InvalidRequestUri extends OAuthError {
  constructor(description: string) {
    super('invalid_request_uri', description);
    this.redirectable = false;
  }
}

/** RFC 7591 §3.2.2: a redirect URI a registration may not have. */
export class InvalidRedirectUri extends OAuthError {
  constructor(description: string) {
    super('invalid_redirect_uri', description);
    this.redirectable = false;
  }
}

/** RFC 7591 §3.2.2: a client metadata value that is invalid or outside the policy. */
export class InvalidClientMetadata extends OAuthError {
  constructor(description: string) {
    super('invalid_client_metadata', description);
    this.redirectable = false;
  }
}

/** A bearer token that is missing, malformed, expired or revoked (RFC 6750 §3.1). */
export class InvalidToken extends OAuthError {
  constructor(description: string, options?: { cause?: unknown }) {
    super('invalid_token', description, options);
    this.headers['www-authenticate'] =
      `Bearer realm="tessera", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`;
    this.redirectable = false;
  }
}

export class InsufficientScope extends OAuthError {
  constructor(description: string, scope: string) {
    super('insufficient_scope', description);
    this.headers['www-authenticate'] =
      `Bearer realm="tessera", error="insufficient_scope", scope="${scope}"`;
    this.redirectable = false;
  }
}

/** An unknown client or unregistered redirect URI at /authorize: shown as a page, never redirected. */
export class UnsafeRedirect extends OAuthError {
  constructor(error: OAuthErrorCode, description: string) {
    super(error, description);
    // A page about a bad request, whatever the code: invalid_client here is an unknown client_id,
    // not a failed authentication (the catalogue's 400 for it).
    this.status = 400;
    this.redirectable = false;
  }
}

/** Where a DPoP error is answered: the token endpoint (400) or a protected resource (401). */
export type DpopSite = 'token' | 'resource';

const DPOP_CHALLENGE_ALGS = DPOP_ALGS.join(' ');

/** RFC 9449 §7.1: the challenge of a protected resource that takes DPoP tokens. */
export function dpopChallenge(error: string, description: string): string {
  return `DPoP error="${error}", error_description="${description.replace(/["\\]/g, '')}", algs="${DPOP_CHALLENGE_ALGS}"`;
}

/** A DPoP proof that is missing where it is needed or fails a check (RFC 9449 §4.3, §5, §7.1). */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string, site: DpopSite = 'token', options?: { cause?: unknown }) {
    super('invalid_dpop_proof', description, options);
    this.redirectable = false;
    if (site === 'resource') {
      this.status = 401;
      this.headers['www-authenticate'] = dpopChallenge('invalid_dpop_proof', description);
    }
  }
}

/** The server wants a nonce in the proof (RFC 9449 §8, §9): the fresh one goes in `DPoP-Nonce`. */
export class UseDpopNonce extends OAuthError {
  constructor(description: string, nonce: string, site: DpopSite = 'token') {
    super('use_dpop_nonce', description);
    this.redirectable = false;
    this.headers['dpop-nonce'] = nonce;
    if (site === 'resource') {
      this.status = 401;
      this.headers['www-authenticate'] = dpopChallenge('use_dpop_nonce', description);
    }
  }
}

/** An access token refused at a resource that takes DPoP: the challenge names DPoP (RFC 9449 §7.1). */
export class InvalidDpopToken extends OAuthError {
  constructor(description: string) {
    super('invalid_token', description);
    this.status = 401;
    this.redirectable = false;
    this.headers['www-authenticate'] = dpopChallenge('invalid_token', description);
  }
}
