import { formatWithOptions } from 'node:util';
import { plainSuffix, type LogFields } from './log-fields.js';
import type { LogCorrelationMode } from './log-settings.js';

/** The console methods that print one line of text (dir, table and trace print shapes of their own). */
export const CORRELATED_CONSOLE_METHODS = ['log', 'info', 'debug', 'warn', 'error'] as const;
type ConsoleMethod = (typeof CORRELATED_CONSOLE_METHODS)[number];

export interface ConsoleCorrelationOptions {
  /** The fields for the line being printed (the active context's). */
  fields: () => LogFields;
  /** Whether the stream a method prints to shows colours (as the console would decide). */
  colors?: (method: ConsoleMethod) => boolean;
}

function streamHasColors(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && typeof stream.hasColors === 'function' && stream.hasColors();
}

/** For the global console: stdout for log/info/debug, stderr for warn/error. */
export function processConsoleColors(method: ConsoleMethod): boolean {
  return streamHasColors(method === 'warn' || method === 'error' ? process.stderr : process.stdout);
}

/**
 * FLOWTRACE_LOG_CORRELATION=all: each console line ends in the plain suffix of the
 * contract (` trace_id=… span_id=… flowtrace.correlation_id=…`, present fields only).
 * The line is formatted here as the console would, so that the suffix can never be
 * taken by a `%s` of the application's format string. Returns the undo.
 */
export function correlateConsole(target: Console, options: ConsoleCorrelationOptions): () => void {
  const originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of CORRELATED_CONSOLE_METHODS) {
    const original = target[method];
    originals.set(method, original);
    target[method] = function correlated(this: Console, ...args: unknown[]): void {
      const suffix = plainSuffix(options.fields());
      if (suffix === '') return original.apply(this, args);
      const colors = options.colors?.(method) ?? false;
      original.call(this, '%s', formatWithOptions({ colors }, ...args) + suffix);
    };
  }
  return () => {
    for (const [method, original] of originals) target[method] = original;
  };
}

/** Console lines are plain output: correlated only under `all`. Returns the undo. */
export function consoleCorrelationFor(mode: LogCorrelationMode, target: Console, options: ConsoleCorrelationOptions): () => void {
  return mode === 'all' ? correlateConsole(target, options) : () => {};
}
