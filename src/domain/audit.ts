import { type AppContext, nowSeconds } from '../context.js';

/** Who made a change to an account, a session or a grant, for the audit log. */
export interface ChangeAuthor {
  by: string;
  ip?: string | null | undefined;
}

/** Records a change in the audit log, with who made it (`details.by`) and from where. */
export function recordChange(
  ctx: AppContext,
  type: string,
  subject: { userId: string; clientId?: string | null },
  author: ChangeAuthor,
  details: Record<string, unknown>,
): Promise<void> {
  return ctx.store.audit.record({
    type,
    userId: subject.userId,
    clientId: subject.clientId ?? null,
    ip: author.ip ?? null,
    details: { ...details, by: author.by },
    createdAt: nowSeconds(ctx),
  });
}
