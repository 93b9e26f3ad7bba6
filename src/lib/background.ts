/** Where background work reports what went wrong. */
interface Logger {
  warn(obj: object, msg: string): void;
}

/**
 * Work that must happen but that no request should wait for (telling apps a session ended):
 * run at most `concurrency` at a time, in arrival order, with a bounded queue. A failure is
 * logged and goes no further. `drain()` waits for everything queued, for a clean shutdown.
 */
export class Background {
  private readonly queue: (() => Promise<void>)[] = [];
  private running = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly log: Logger,
    private readonly concurrency = 8,
    private readonly maxQueued = 10_000,
  ) {}

  /** Queues `work`; drops it, with a warning, when the queue is full (then answers false). */
  run(label: string, work: () => Promise<void>): boolean {
    if (this.queue.length >= this.maxQueued) {
      this.log.warn({ label }, 'background queue full: work dropped');
      return false;
    }
    this.queue.push(async () => {
      try {
        await work();
      } catch (error) {
        this.log.warn({ err: error, label }, 'background work failed');
      }
    });
    this.next();
    return true;
  }

  /** Resolves once nothing is queued or running. */
  drain(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const work = this.queue.shift()!;
      this.running += 1;
      void work().finally(() => {
        this.running -= 1;
        this.next();
        if (this.running === 0 && this.queue.length === 0) {
          for (const resolve of this.idle) resolve();
          this.idle.clear();
        }
      });
    }
  }
}
