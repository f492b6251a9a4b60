import type { Logger } from 'pino';

/**
 * The timer of a processor that holds whole traces: `tick` releases what is complete and
 * offers what waits. It runs often enough for `decisionWaitMs` (a quarter of it, 10 ms to 1 s)
 * and never keeps the process alive; a failing tick is logged, the next one runs anyway.
 */
export function startTicker(decisionWaitMs: number, tick: () => Promise<void>, logger: Logger, what: string): NodeJS.Timeout {
  const everyMs = Math.min(1000, Math.max(10, Math.floor(decisionWaitMs / 4)));
  const timer = setInterval(() => {
    tick().catch((err: unknown) => logger.error({ err }, `${what} tick failed`));
  }, everyMs);
  timer.unref();
  return timer;
}
