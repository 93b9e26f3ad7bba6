import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { sessionAcr } from '../../domain/acr.js';
import { findApi } from '../../domain/apis.js';
import { grantConsent } from '../../domain/grants.js';
import { hmacSha256, safeEqual, sha256 } from '../../lib/hash.js';
import { randomId } from '../../lib/random.js';
import type { Client, DeviceCode } from '../../store/types.js';
import type { BrowserSession, SignedIn } from '../browser.js';
import { releasedClaimNames } from '../claims.js';
import { InvalidRequest } from '../errors.js';
import { bodyParams, param, type RawParams } from '../params.js';
import { SCOPE_DESCRIPTIONS, splitScope } from '../scopes.js';
import type { ProtocolViews } from '../views.js';
import { displayUserCode, normaliseUserCode } from './user-code.js';

/** The one answer to any code that cannot be used: it tells nothing about other codes (§5.1). */
export const CODE_REFUSED = 'That code is not valid or has expired.';

/** A checked code opened in another browser than the one that typed it. */
export const TYPE_IT_HERE = 'Type the code shown on your device here to continue.';

/** How long a checked code stays checked through sign-in, and a consent page stays answerable. */
const TICKET_TTL = 600;

const DEVICE = '/device';
const CONFIRM = '/device/confirm';

function sign(ctx: AppContext, purpose: string, text: string): string {
  return hmacSha256(ctx.config.secret, `device-${purpose}:${text}`);
}

function seal(ctx: AppContext, purpose: string, body: object): string {
  const text = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${text}.${sign(ctx, purpose, text)}`;
}

function unseal<T>(ctx: AppContext, purpose: string, sealed: unknown): T | undefined {
  if (typeof sealed !== 'string' || sealed.length > 2048) return undefined;
  const [text, sig, extra] = sealed.split('.');
  if (!text || !sig || extra !== undefined || !safeEqual(sig, sign(ctx, purpose, text)))
    return undefined;
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as T;
}

/** A code a person may still answer: pending and unexpired. */
const answerable = (code: DeviceCode | undefined, now: number): code is DeviceCode =>
  code !== undefined &&
  code.status === 'pending' &&
  code.consumedAt === null &&
  code.expiresAt > now;

/**
 * The checked code, carried through sign-in in the URL: the hash of its device code, signed.
 * The user code itself never travels again once typed.
 */
interface Ticket {
  d: string;
  t: number;
  /** SHA-256 of the browser's binding: the ticket works only in the browser that typed the code. */
  b: string;
}

/** The consent form's state: the code, and the person and session the page was shown to. */
interface Interaction extends Omit<Ticket, 'b'> {
  u: string;
  s: string;
  /** Makes each form answerable once. */
  n: string;
}

/**
 * The pages of RFC 8628 §3.3: the person types the user code at /device (a Continue they must
 * press even when `verification_uri_complete` filled it in, §5.4), signs in if they are not, and
 * answers a consent page that always asks, first-party app or not (remote phishing, §5.4).
 */
export function registerDeviceVerification(
  app: FastifyInstance,
  ctx: AppContext,
  views: ProtocolViews,
  browser: BrowserSession,
): void {
  const page = { config: { page: true } };

  const showCode = (
    request: FastifyRequest,
    reply: FastifyReply,
    userCode: string,
    error?: string,
    status = 200,
  ) =>
    views.deviceCode(
      request,
      reply,
      { userCode, action: `${ctx.config.issuerPath}${DEVICE}`, ...(error ? { error } : {}) },
      status,
    );

  /** The 429 page past the guessing limit (§5.1): no code is looked at until the window ends. */
  const tooMany = (
    request: FastifyRequest,
    reply: FastifyReply,
    userCode: string,
    wait: number,
  ) => {
    reply.header('retry-after', String(wait));
    const minutes = Math.ceil(wait / 60);
    return showCode(
      request,
      reply,
      userCode,
      `Too many codes tried from this network. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      429,
    );
  };

  app.get(DEVICE, page, async (request, reply) => {
    const query = request.query as RawParams;
    const typed = param(query, 'user_code') ?? '';
    const normal = normaliseUserCode(typed);
    // Filled in from verification_uri_complete, never submitted by itself: the person presses Continue.
    return showCode(request, reply, normal ? displayUserCode(normal) : typed.slice(0, 64));
  });

  app.post(DEVICE, page, async (request, reply) => {
    browser.checkForm(request);
    const form = bodyParams(request.body);
    const typed = (param(form, 'user_code') ?? '').trim();
    const shown = typed.slice(0, 64);
    if (typed === '')
      return showCode(request, reply, '', 'Enter the code shown on your device.', 400);
    const waitFirst = await ctx.throttle.userCodes.refusedFor(request.ip);
    if (waitFirst > 0) return tooMany(request, reply, shown, waitFirst);

    const now = nowSeconds(ctx);
    const normal = normaliseUserCode(typed);
    const code = normal ? await ctx.store.deviceCodes.findByUserCode(sha256(normal)) : undefined;
    if (!answerable(code, now)) {
      const wait = await ctx.throttle.userCodes.failed(request.ip);
      if (wait > 0) return tooMany(request, reply, shown, wait);
      return showCode(request, reply, shown, CODE_REFUSED, 400);
    }
    const binding = sha256(browser.deviceBinding(request, reply));
    const ticket = seal(ctx, 'ticket', { d: code.id, t: now, b: binding } satisfies Ticket);
    return reply.redirect(`${ctx.config.issuerPath}${CONFIRM}?ticket=${ticket}`, 303);
  });

  app.get(CONFIRM, page, async (request, reply) => {
    const sealed = (request.query as RawParams).ticket;
    const ticket = openTicket(ctx, sealed);
    if (!ticket) return showCode(request, reply, '', CODE_REFUSED, 400);
    // A link to this page made in another browser (someone else's code, sent to phish): the
    // person must type the code here themselves (RFC 8628 §5.4).
    const held = browser.boundDevice(request);
    if (!held || !safeEqual(sha256(held), ticket.b)) {
      return showCode(request, reply, '', TYPE_IT_HERE, 400);
    }
    const signedIn = await browser.signedIn(request);
    if (!signedIn) {
      const back = `${CONFIRM}?ticket=${sealed as string}`;
      // return_to is a path under the issuer's, as every page's is (ui/pages/return-to.ts).
      return reply.redirect(
        `${ctx.config.issuerPath}/login?return_to=${encodeURIComponent(back)}`,
        303,
      );
    }
    const found = await usableCode(ctx, ticket.d);
    if (!found) return showCode(request, reply, '', CODE_REFUSED, 400);
    return showConsent(ctx, request, reply, views, found, signedIn);
  });

  app.post(CONFIRM, page, async (request, reply) => {
    browser.checkForm(request);
    const form = bodyParams(request.body);
    const decision = param(form, 'decision');
    // Checked before the form is opened, so that a malformed answer does not use it up.
    if (decision !== 'allow' && decision !== 'deny') {
      throw new InvalidRequest('decision must be "allow" or "deny"');
    }
    const signedIn = await browser.signedIn(request);
    const interaction = signedIn && (await openInteraction(ctx, form.interaction, signedIn));
    if (!signedIn || !interaction) {
      throw new InvalidRequest(
        'this form has expired or belongs to another sign-in: type the code shown on your device again',
      );
    }
    const found = await usableCode(ctx, interaction.d);
    if (!found) return showCode(request, reply, '', CODE_REFUSED, 400);
    const answered = await answer(ctx, found.code, found.client, signedIn, decision === 'allow');
    if (!answered) return showCode(request, reply, '', CODE_REFUSED, 400);
    return views.deviceDone(request, reply, {
      clientName: found.client.name,
      allowed: decision === 'allow',
      username: signedIn.user.username,
    });
  });
}

function openTicket(ctx: AppContext, sealed: unknown): Ticket | undefined {
  const ticket = unseal<Ticket>(ctx, 'ticket', sealed);
  return ticket && nowSeconds(ctx) - ticket.t <= TICKET_TTL ? ticket : undefined;
}

/** The code, if it can still be answered, with its client. */
async function usableCode(
  ctx: AppContext,
  id: string,
): Promise<{ code: DeviceCode; client: Client } | undefined> {
  const code = await ctx.store.deviceCodes.find(id);
  if (!answerable(code, nowSeconds(ctx))) return undefined;
  const client = await ctx.clients.get(code.clientId);
  return client ? { code, client } : undefined;
}

async function showConsent(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  { code, client }: { code: DeviceCode; client: Client },
  signedIn: SignedIn,
): Promise<FastifyReply> {
  // The APIs the device asked for (RFC 8707), named as on the browser's consent page.
  const apis: { name: string; identifier: string }[] = [];
  for (const identifier of code.resources) {
    const api = await findApi(ctx, identifier);
    if (api) apis.push({ name: api.name, identifier });
  }
  const interaction: Interaction = {
    d: code.id,
    t: nowSeconds(ctx),
    u: signedIn.user.id,
    s: signedIn.session.id,
    n: randomId(12),
  };
  return views.deviceConsent(request, reply, {
    clientName: client.name,
    scopes: splitScope(code.scope).map((name) => ({
      name,
      description: SCOPE_DESCRIPTIONS[name] ?? name,
    })),
    apis,
    username: signedIn.user.username,
    interaction: seal(ctx, 'consent', interaction),
    action: `${ctx.config.issuerPath}${CONFIRM}`,
  });
}

/** The consent form's state if it is genuine, fresh, for this session, and not answered before. */
async function openInteraction(
  ctx: AppContext,
  sealed: unknown,
  signedIn: SignedIn,
): Promise<Interaction | undefined> {
  const body = unseal<Interaction>(ctx, 'consent', sealed);
  if (!body || body.u !== signedIn.user.id || body.s !== signedIn.session.id) return undefined;
  if (nowSeconds(ctx) - body.t > TICKET_TTL) return undefined;
  if (!(await ctx.store.markers.use(`device-consent:${body.n}`, body.t + TICKET_TTL))) {
    throw new InvalidRequest(
      'this consent form has already been answered: type the code shown on your device again',
    );
  }
  return body;
}

/**
 * Records the person's answer on the code, once. Allow records the grant first, widened as the
 * code flow's consent widens it; the device's tokens point to it, so "revoke this app" reaches them.
 */
async function answer(
  ctx: AppContext,
  code: DeviceCode,
  client: Client,
  { user, session }: SignedIn,
  allowed: boolean,
): Promise<boolean> {
  const now = nowSeconds(ctx);
  if (!allowed) {
    return ctx.store.deviceCodes.decide(
      code.id,
      { status: 'denied', userId: user.id, grantId: null, authTime: null, acr: null, amr: null },
      now,
    );
  }
  const grant = await grantConsent(ctx, {
    userId: user.id,
    clientId: client.id,
    scopes: splitScope(code.scope),
    claims: [],
    existing: await ctx.store.grants.find(user.id, client.id),
    releasedByScopes: releasedClaimNames,
  });
  return ctx.store.deviceCodes.decide(
    code.id,
    {
      status: 'approved',
      userId: user.id,
      grantId: grant.id,
      authTime: session.authTime,
      acr: sessionAcr(session),
      amr: session.amr,
    },
    now,
  );
}
