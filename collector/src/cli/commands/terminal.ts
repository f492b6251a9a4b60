import type { CommandIO } from '../command.js';

/**
 * Terminal helpers for the analysis commands (analyze, search, waterfall): colours only when
 * stdout is a TTY and NO_COLOR (https://no-color.org) is unset, and the terminal's width.
 */
export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  cyan(text: string): string;
  /** One of a few fixed colours, chosen by index (a service's). */
  pick(index: number, text: string): string;
}

const SERVICE_COLOURS = [36, 35, 33, 32, 34, 91, 96, 95, 93, 92] as const;

function sgr(code: number | string): (text: string) => string {
  return (text) => `\u001b[${code}m${text}\u001b[0m`;
}

const PLAIN: Paint = { bold: (t) => t, dim: (t) => t, red: (t) => t, yellow: (t) => t, green: (t) => t, cyan: (t) => t, pick: (_i, t) => t };
const COLOURED: Paint = {
  bold: sgr(1),
  dim: sgr(2),
  red: sgr(31),
  yellow: sgr(33),
  green: sgr(32),
  cyan: sgr(36),
  pick: (i, t) => sgr(SERVICE_COLOURS[i % SERVICE_COLOURS.length]!)(t),
};

function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Colours for stdout: none unless it is a TTY and NO_COLOR is unset or empty. */
export function paintFor(io: Pick<CommandIO, 'stdout' | 'env'>): Paint {
  return isTty(io.stdout) && !io.env.NO_COLOR ? COLOURED : PLAIN;
}

export function plainPaint(): Paint {
  return PLAIN;
}

export function colouredPaint(): Paint {
  return COLOURED;
}

/** Columns of the terminal stdout writes to; `fallback` when it is not one. */
export function terminalWidth(io: Pick<CommandIO, 'stdout' | 'env'>, fallback = 100): number {
  const columns = (io.stdout as { columns?: number }).columns;
  if (isTty(io.stdout) && typeof columns === 'number' && columns > 0) return columns;
  const env = Number(io.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : fallback;
}

/** Whether stderr is a terminal (for progress lines). */
export function stderrIsTty(io: Pick<CommandIO, 'stderr'>): boolean {
  return isTty(io.stderr);
}
