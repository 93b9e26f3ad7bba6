/*
 * The little protocol between the benchmark and the processes it starts: the
 * child says `ready` once it listens, then answers numbered requests.
 */

export interface ReadyMessage {
  type: 'ready';
  url?: string;
  [key: string]: unknown;
}

export interface RequestMessage {
  id: number;
  type: string;
  payload?: unknown;
}

export interface ReplyMessage {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export type Handler = (payload: unknown) => unknown | Promise<unknown>;

/** The resident set size and heap of this process, in MiB. */
export function memoryMb(): { rss_mb: number; heap_mb: number } {
  const usage = process.memoryUsage();
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return { rss_mb: mb(usage.rss), heap_mb: mb(usage.heapUsed) };
}

/** CPU time this process has used so far (user + system), in microseconds. */
export function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * In a child: answers the parent's requests with `handlers` (a `stop` handler
 * ends the process after replying) and announces `ready`.
 */
export function serveParent(handlers: Record<string, Handler>, ready: Omit<ReadyMessage, 'type'>) {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this process must be started by the benchmark (no IPC channel)');
  process.on('message', (raw: RequestMessage) => {
    const handler = handlers[raw.type];
    const reply = (message: Omit<ReplyMessage, 'id'>) => send({ id: raw.id, ...message });
    if (!handler) {
      reply({ ok: false, error: `unknown request ${raw.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(raw.payload))
      .then(
        (result) => {
          reply({ ok: true, result });
          if (raw.type === 'stop') setImmediate(() => process.exit(0));
        },
        (error: unknown) =>
          reply({ ok: false, error: error instanceof Error ? error.stack : String(error) }),
      );
  });
  // The parent going away (Ctrl-C, a crash) takes the child with it.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...ready });
}
