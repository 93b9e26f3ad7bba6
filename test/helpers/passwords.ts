import { verifyPassword } from '../../src/domain/passwords.js';
import type { Store, User } from '../../src/store/types.js';

/**
 * The person whose login (username or e-mail) and password match, or undefined: what a sign-in
 * would check, without its limits, for tests that look at a stored password from the side.
 */
export async function authenticate(
  ctx: { store: Store },
  login: string,
  password: string,
): Promise<User | undefined> {
  const user = await ctx.store.users.findByLogin(login.trim());
  return user && (await verifyPassword(user.passwordHash, password)) ? user : undefined;
}
