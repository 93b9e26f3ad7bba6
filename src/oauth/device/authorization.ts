import type { FastifyInstance } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { scopesForClient } from '../../domain/apis.js';
import { DEVICE_CODE_GRANT } from '../../domain/client-rules.js';
import { sha256 } from '../../lib/hash.js';
import { randomToken } from '../../lib/random.js';
import type { Client } from '../../store/types.js';
import { authenticateClient } from '../client-auth.js';
import { InvalidRequest, UnauthorizedClient } from '../errors.js';
import { bodyParams, param } from '../params.js';
import { authorizedApis } from '../resource.js';
import { checkAllowed, formatScope, parseScope } from '../scopes.js';
import { displayUserCode, newUserCode } from './user-code.js';

/** The parameters of a device authorization request besides client authentication (RFC 8628 §3.1). */
const UNSUPPORTED = ['claims', 'request', 'request_uri', 'redirect_uri', 'response_type'];

/** The page where a person types the user code. */
export const verificationUri = (ctx: AppContext): string => `${ctx.config.issuer}/device`;

/** A draw of the user code that collides with a stored one is drawn again; twice is already rare. */
const DRAWS = 3;

/** Stores a new device authorization; the device code and user code as the client sees them. */
async function createDeviceCode(
  ctx: AppContext,
  client: Client,
  scopes: string[],
  resources: string[],
): Promise<{ deviceCode: string; userCode: string }> {
  const now = nowSeconds(ctx);
  const deviceCode = randomToken(32);
  for (let draw = 1; ; draw++) {
    const userCode = newUserCode();
    try {
      await ctx.store.deviceCodes.save({
        id: sha256(deviceCode),
        userCodeHash: sha256(userCode),
        clientId: client.id,
        scope: formatScope(scopes),
        resources,
        status: 'pending',
        userId: null,
        grantId: null,
        authTime: null,
        acr: null,
        amr: null,
        interval: ctx.config.deviceInterval,
        lastPolledAt: null,
        createdAt: now,
        expiresAt: now + ctx.config.deviceCodeTtl,
        consumedAt: null,
      });
      return { deviceCode, userCode };
    } catch (error) {
      // The user code is unique among stored ones; anything else is a real failure.
      const taken = await ctx.store.deviceCodes.findByUserCode(sha256(userCode));
      if (!taken || draw === DRAWS) throw error;
    }
  }
}

/**
 * The device authorization endpoint (RFC 8628 §3.1, §3.2): the client authenticates as at /token
 * (a public client sends only its client_id), must be allowed the device grant, and may ask for
 * the scopes it could ask for at /authorize.
 */
export function registerDeviceAuthorizationEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/device_authorization', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const { client } = await authenticateClient(ctx, request, params);
    if (!client.grantTypes.includes(DEVICE_CODE_GRANT)) {
      throw new UnauthorizedClient(`this client is not allowed the ${DEVICE_CODE_GRANT} grant`);
    }
    for (const name of UNSUPPORTED) {
      if (param(params, name) !== undefined) {
        throw new InvalidRequest(`parameter "${name}" is not supported at /device_authorization`);
      }
    }
    // RFC 8707: the APIs the device's tokens may be for, each one this client may use (first: an
    // API just made elsewhere is looked for in a fresh list, which the scopes then use).
    const apis = await authorizedApis(ctx, client, params);
    const scopes = parseScope(param(params, 'scope'));
    checkAllowed(scopes, await scopesForClient(ctx, client, 'person'));

    const { deviceCode, userCode } = await createDeviceCode(
      ctx,
      client,
      scopes,
      apis.map((api) => api.identifier),
    );
    const shown = displayUserCode(userCode);
    return {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: verificationUri(ctx),
      verification_uri_complete: `${verificationUri(ctx)}?user_code=${shown}`,
      expires_in: ctx.config.deviceCodeTtl,
      interval: ctx.config.deviceInterval,
    };
  });
}
