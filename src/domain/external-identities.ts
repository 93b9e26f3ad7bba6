import { type AppContext, nowSeconds } from '../context.js';
import type { ExternalIdentity } from '../store/types.js';
import { type ChangeAuthor, recordChange } from './audit.js';
import { NotFoundError, ValidationError } from './errors.js';

const MAX_LENGTH = 2048;

function checkIdentifier(field: 'issuer' | 'subject', value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_LENGTH) {
    throw new ValidationError(
      field,
      `${field} must be a non-empty string of at most ${MAX_LENGTH} characters`,
    );
  }
  if (value.trim() !== value)
    throw new ValidationError(field, `${field} must not start or end with spaces`);
  return value;
}

/**
 * Links a person's account at another OpenID provider (`iss` + `sub` of its ID tokens) to their
 * account here, so that token exchange accepts that provider's ID tokens for them. The issuer is
 * compared exactly, as it appears in `iss`. One account elsewhere maps to one person here.
 *
 * @throws NotFoundError when the person does not exist, ConflictError('identity') when the
 * identity is linked already, ValidationError for an empty or over-long value.
 */
export async function linkIdentity(
  ctx: AppContext,
  userId: string,
  input: { issuer: unknown; subject: unknown },
  change: ChangeAuthor,
): Promise<ExternalIdentity> {
  const issuer = checkIdentifier('issuer', input.issuer);
  const subject = checkIdentifier('subject', input.subject);
  if (!(await ctx.store.users.findById(userId))) throw new NotFoundError('user');
  const identity = await ctx.store.externalIdentities.link({
    issuer,
    subject,
    userId,
    createdAt: nowSeconds(ctx),
  });
  await recordChange(ctx, 'user.identity_linked', { userId }, change, { issuer, subject });
  return identity;
}

/** Removes a link; tokens already exchanged stay valid until they expire or are revoked. */
export async function unlinkIdentity(
  ctx: AppContext,
  userId: string,
  input: { issuer: unknown; subject: unknown },
  change: ChangeAuthor,
): Promise<void> {
  const issuer = checkIdentifier('issuer', input.issuer);
  const subject = checkIdentifier('subject', input.subject);
  if (!(await ctx.store.externalIdentities.unlink(userId, issuer, subject)))
    throw new NotFoundError('identity');
  await recordChange(ctx, 'user.identity_unlinked', { userId }, change, { issuer, subject });
}

/** A person's linked identities. @throws NotFoundError when the person does not exist. */
export async function identitiesOf(ctx: AppContext, userId: string): Promise<ExternalIdentity[]> {
  if (!(await ctx.store.users.findById(userId))) throw new NotFoundError('user');
  return ctx.store.externalIdentities.listForUser(userId);
}
