export interface ExitHooks {
  remove(): void;
}

/** Resolves true when `p` settled in time, false when `ms` passed first. */
function withTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(settled, settled);
  });
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Sends what is buffered before the process goes: on `beforeExit` when spans
 * are waiting, and on SIGTERM/SIGINT. When the agent is the only listener for
 * the signal it re-raises it after the flush, so the process still dies of that
 * signal (exit code 143/130) as it would have without the agent; when the
 * application listens too, the application decides when to exit.
 */
export function installExitHooks(flush: () => Promise<void>, pending: () => number, timeoutMs = 5000): ExitHooks {
  let inFlight: Promise<boolean> | undefined;
  const flushOnce = (): Promise<boolean> =>
    (inFlight ??= withTimeout(flush(), timeoutMs).finally(() => {
      inFlight = undefined;
    }));

  const onBeforeExit = (): void => {
    // After the flush the loop empties again and beforeExit comes back with nothing pending: then the process exits.
    if (pending() === 0) return;
    void flushOnce().then((sent) => {
      // The collector did not answer in time, and an exporter's retry timers would keep an
      // application that has finished alive: end it as it was about to end, unless the
      // application itself still has beforeExit work.
      if (!sent && process.listenerCount('beforeExit') === 1) process.exit();
    });
  };
  process.on('beforeExit', onBeforeExit);

  const signalHandlers = SIGNALS.map((signal) => {
    const handler = (): void => {
      const applicationListens = process.listenerCount(signal) > 1;
      void flushOnce().then(() => {
        if (applicationListens) return;
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      });
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });

  return {
    remove() {
      process.removeListener('beforeExit', onBeforeExit);
      for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
    },
  };
}
