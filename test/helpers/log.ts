import pino from 'pino';

export type LogLine = Record<string, unknown> & { msg?: string };

/** A logger whose lines a test reads, and waits for, as they are written. */
export interface CapturedLog {
  logger: pino.Logger;
  lines: LogLine[];
  /** Resolves with the first line written from now on for which `match` holds. */
  next(match: (line: LogLine) => boolean): Promise<LogLine>;
}

export function captureLog(level: pino.LevelWithSilent = 'debug'): CapturedLog {
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  const logger = pino(
    { level },
    {
      // pino writes each line synchronously, so a waiter hears it when the code logs it.
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of [...waiters]) waiter(line);
      },
    },
  );
  return {
    logger,
    lines,
    next: (match) =>
      new Promise((resolve) => {
        const waiter = (line: LogLine) => {
          if (!match(line)) return;
          waiters.delete(waiter);
          resolve(line);
        };
        waiters.add(waiter);
      }),
  };
}
