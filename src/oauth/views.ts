import type { FastifyReply, FastifyRequest } from 'fastify';

/** What the consent page shows; ui/ renders it. */
export interface ConsentView {
  clientName: string;
  /**
   * For a client that described itself (a Client ID Metadata Document): the host it is published
   * on, shown first, its name being only what it says, and whether it redirects to this computer only.
   */
  selfDescribed?: { host: string; localOnly: boolean } | undefined;
  /** The scopes to grant, each with words a person understands. */
  scopes: { name: string; description: string }[];
  /** Claims asked for by name (the `claims` parameter) beyond what the scopes release. */
  claims: { name: string; description: string }[];
  /**
   * Scopes and claims (of the two lists above) allowed before: the page lists them as allowed
   * already and marks the others "New" (prompt=consent, or more asked for).
   */
  alreadyGranted: string[];
  /**
   * Scopes allowed before and not asked for now that the tokens carry all the same
   * (include_granted_scopes=true): listed with those allowed already.
   */
  carried?: { name: string; description: string }[];
  /** The APIs (RFC 8707 resources) the app asks access to, by name and identifier. */
  apis?: { name: string; identifier: string }[];
  username: string;
  /** The signed, opaque interaction to post back with the decision. */
  interaction: string;
  /** Where the decision is posted. */
  action: string;
}

/** What the account chooser (prompt=select_account) shows. */
export interface SelectAccountView {
  clientName: string;
  /** The signed-in person, to continue as. */
  username: string;
  email: string;
  /** The signed, opaque interaction to post back with the choice. */
  interaction: string;
  /** Where the choice is posted: `choice=continue` or `choice=other`. */
  action: string;
}

/** What the logout confirmation page shows; the fields go back with the confirmation. */
export interface LogoutConfirmView {
  clientName: string | undefined;
  username: string;
  fields: Record<string, string>;
  action: string;
}

/** The device page (RFC 8628 §3.3): the field "Code" and the button "Continue". */
export interface DeviceCodeView {
  /** What goes in the field: the code as typed, or as `verification_uri_complete` carried it. */
  userCode: string;
  /** Why the code was refused, in words a person reads. */
  error?: string;
  /** Where the code is posted. */
  action: string;
}

/** The device consent page: which app, that a device asks, and what it may do. */
export interface DeviceConsentView {
  clientName: string;
  scopes: { name: string; description: string }[];
  /** The APIs (RFC 8707 resources) the device asks access to, by name and identifier. */
  apis?: { name: string; identifier: string }[];
  username: string;
  /** The signed, opaque interaction to post back with the decision. */
  interaction: string;
  action: string;
}

/**
 * The pages the protocol endpoints need. The protocol code knows no HTML:
 * app.ts passes ui/'s renderers in.
 */
export interface ProtocolViews {
  consent(request: FastifyRequest, reply: FastifyReply, view: ConsentView): FastifyReply;
  /** prompt=select_account: continue as the signed-in person, or use another account. */
  selectAccount(
    request: FastifyRequest,
    reply: FastifyReply,
    view: SelectAccountView,
  ): FastifyReply;
  /** OAuth 2.0 Form Post Response Mode: a page that posts `fields` to `action`. */
  formPost(
    request: FastifyRequest,
    reply: FastifyReply,
    action: string,
    fields: Record<string, string>,
  ): FastifyReply;
  /** RP-initiated logout that cannot be trusted: ask before signing out. */
  logoutConfirm(
    request: FastifyRequest,
    reply: FastifyReply,
    view: LogoutConfirmView,
  ): FastifyReply;
  /** After a logout with nowhere to return to. */
  signedOut(request: FastifyRequest, reply: FastifyReply): FastifyReply;
  /** The device page, with `status` (400 for a refused code, 429 past the guessing limit). */
  deviceCode(
    request: FastifyRequest,
    reply: FastifyReply,
    view: DeviceCodeView,
    status?: number,
  ): FastifyReply;
  deviceConsent(
    request: FastifyRequest,
    reply: FastifyReply,
    view: DeviceConsentView,
  ): FastifyReply;
  /** After the person answered: the device may continue, or was refused. */
  deviceDone(
    request: FastifyRequest,
    reply: FastifyReply,
    view: { clientName: string; allowed: boolean; username: string },
  ): FastifyReply;
}
