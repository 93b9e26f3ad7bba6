/**
 * Polls `check` until it holds, failing after `within` ms. Only for a condition that nothing
 * announces and no clock of ours moves (a socket closing in another process, a worker thread's
 * own timer, a TTL kept by Redis): each caller says which. Anything that emits an event, logs a
 * line or runs on an injectable clock is waited on through that instead.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  { within, every = 20 }: { within: number; every?: number },
): Promise<void> {
  const deadline = performance.now() + within;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`the condition did not hold within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
