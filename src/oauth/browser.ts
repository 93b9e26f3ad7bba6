import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Session, User } from '../store/types.js';

/** The person signed in in a browser, and their session. */
export interface SignedIn {
  session: Session;
  user: User;
}

/**
 * What the browser-facing endpoints (/authorize, /consent, /logout) need from the browser's
 * session, which the HTTP layer owns with its cookies and CSRF tokens. app.ts passes http/'s
 * implementation in, so that the protocol never reaches up into http/ (DESIGN.md: layers).
 */
export interface BrowserSession {
  /** The signed-in person of this request, if any. */
  signedIn(request: FastifyRequest): Promise<SignedIn | undefined>;
  /** Throws (answered as a page) unless the posted form carries this browser's CSRF token. */
  checkForm(request: FastifyRequest): void;
  /** Ends the request's session, if any, and clears its cookie; returns the session that ended. */
  signOut(request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined>;
  /**
   * A random value this browser keeps (a cookie that outlives sign-in), set now unless it has
   * one; for binding a step of a flow to the browser that took it.
   */
  deviceBinding(request: FastifyRequest, reply: FastifyReply): string;
  /** The value deviceBinding gave this browser, if it has one. */
  boundDevice(request: FastifyRequest): string | undefined;
}
