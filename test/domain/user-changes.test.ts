import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { NotFoundError } from '../../src/domain/errors.js';
import { findGrantOfUser, revokeGrant } from '../../src/domain/grants.js';
import { startSession } from '../../src/domain/sessions.js';
import { deleteUser, setRole, updateProfile } from '../../src/domain/user-changes.js';
import { testApp } from '../helpers/app.js';
import { makeClient, makeUser } from '../helpers/oauth.js';

/**
 * The account changes the account page, the admin API and the CLI share (issue 10 point 7):
 * each keeps its rules and records who made it, whichever door it came through.
 */
describe('changes to an account', () => {
  let app: FastifyInstance;
  let ctx: AppContext;
  beforeAll(async () => {
    app = await testApp();
    ctx = app.tessera;
  });
  afterAll(async () => app.close());

  const lastEvent = async (userId: string) => (await ctx.store.audit.list({ limit: 1, userId }))[0];

  it('a new e-mail address is no longer verified; the same one in another case still is', async () => {
    const { user } = await makeUser(ctx);
    await ctx.store.users.update(user.id, { emailVerified: true }, 0);
    const sameAddress = await updateProfile(
      ctx,
      user,
      { email: user.email.toUpperCase().replace('@EXAMPLE.COM', '@example.com') },
      { by: 'self', ip: '192.0.2.7' },
    );
    expect(sameAddress.emailVerified).toBe(true);
    expect(await lastEvent(user.id)).toMatchObject({
      type: 'user.updated',
      ip: '192.0.2.7',
      details: { fields: ['email'], by: 'self' },
    });
    const moved = await updateProfile(
      ctx,
      sameAddress,
      { email: 'elsewhere@example.org' },
      {
        by: 'self',
      },
    );
    expect(moved).toMatchObject({ email: 'elsewhere@example.org', emailVerified: false });
  });

  it('a role change is recorded with who made it; an unknown person is not found', async () => {
    const { user } = await makeUser(ctx);
    expect((await setRole(ctx, user.id, 'admin', { by: 'admin' })).role).toBe('admin');
    expect(await lastEvent(user.id)).toMatchObject({
      type: 'user.role_changed',
      details: { role: 'admin', by: 'admin' },
    });
    await expect(setRole(ctx, 'nobody', 'admin', { by: 'admin' })).rejects.toThrow(NotFoundError);
  });

  it('deleting a person ends their sessions first, then deletes the account, once', async () => {
    const { user } = await makeUser(ctx);
    const { session } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
    const other = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
    // The store deletes the session rows with the account, so what shows that they were ended
    // (and not merely deleted) is the session-ended hooks, which send back-channel logouts.
    const told: string[] = [];
    const hooks = ctx.hooks.sessionEnded;
    ctx.hooks.sessionEnded = [...hooks, async (_ctx, ended) => void told.push(ended.id)];
    try {
      await deleteUser(ctx, user, { by: 'admin', ip: '192.0.2.9' });
      await ctx.background.drain();
    } finally {
      ctx.hooks.sessionEnded = hooks;
    }
    expect(told.sort()).toEqual([session.id, other.session.id].sort());
    expect(await ctx.store.users.findById(user.id)).toBeUndefined();
    const [deleted, sessionsEnded] = await ctx.store.audit.list({ limit: 2, userId: user.id });
    expect(deleted).toMatchObject({
      type: 'user.deleted',
      ip: '192.0.2.9',
      details: { username: user.username, by: 'admin' },
    });
    expect(sessionsEnded).toMatchObject({
      type: 'session.ended_all',
      ip: '192.0.2.9',
      details: { count: 2, by: 'admin', reason: 'user-deleted' },
    });
    await expect(deleteUser(ctx, user, { by: 'admin' })).rejects.toThrow(NotFoundError);
  });

  it("revoking an app's access: found by grant or by app, never someone else's", async () => {
    const { user } = await makeUser(ctx);
    const { user: other } = await makeUser(ctx);
    const { client } = await makeClient(ctx);
    const grant = await ctx.store.grants.upsert(user.id, client.id, ['openid'], 0);
    expect(await findGrantOfUser(ctx, user.id, { clientId: client.id })).toEqual(grant);
    expect(await findGrantOfUser(ctx, other.id, { grantId: grant.id })).toBeUndefined();
    expect(await findGrantOfUser(ctx, user.id, {})).toBeUndefined();

    expect(await revokeGrant(ctx, grant, { by: 'self', ip: '192.0.2.8' })).toBe(true);
    expect(await ctx.store.grants.findById(grant.id)).toBeUndefined();
    expect(await lastEvent(user.id)).toMatchObject({
      type: 'grant.revoked',
      clientId: client.id,
      ip: '192.0.2.8',
    });
    expect(await revokeGrant(ctx, grant, { by: 'self' })).toBe(false);
  });
});
