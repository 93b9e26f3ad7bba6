import type { AppContext } from '../context.js';

/** Creates (or refreshes) a demo user and client for `tessera start --demo`; returns the lines to print. */
export async function createDemo(_ctx: AppContext): Promise<string[]> {
  // TODO: filled in with the client registration domain (issue 2, first start).
  return ['  Demo user and client: not yet available.'];
}
