import { visible } from '../format.js';
import type { Paint } from './terminal.js';

/**
 * A table for the metric commands (red, hotspots): numbers right-aligned, text left-aligned,
 * a header rule, and colours applied to a cell after padding, so escapes never upset the widths.
 */
export interface Column {
  title: string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/** A cell: its text, and optionally the colour it is painted in. */
export type Cell = string | { text: string; paint: (text: string) => string };

export function renderTable(columns: readonly Column[], rows: ReadonlyArray<readonly Cell[]>, paint: Paint): string {
  const text = (cell: Cell) => visible(typeof cell === 'string' ? cell : cell.text);
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => [...text(r[i] ?? '')].length)));
  const pad = (value: string, i: number, colour: (text: string) => string = (t) => t) => {
    // Colour the text only, not the padding: trailing spaces stay trimmable.
    const fill = ' '.repeat(Math.max(0, widths[i]! - [...value].length));
    return columns[i]!.right ? fill + colour(value) : colour(value) + fill;
  };
  const line = (cells: string[]) => cells.join('  ').trimEnd();
  const header = paint.bold(line(columns.map((c, i) => pad(c.title, i))));
  const rule = line(widths.map((w) => '─'.repeat(w)));
  const body = rows.map((r) => line(columns.map((_c, i) => {
    const cell = r[i] ?? '';
    return typeof cell === 'string' ? pad(visible(cell), i) : pad(visible(cell.text), i, cell.paint);
  })));
  return [header, rule, ...body].join('\n') + '\n';
}

/** `part` of `whole` (0 to 1) as a bar `width` cells wide, in eighths of a cell. */
export function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(Math.max(fraction, 0), 1) * width * 8);
  const partial = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8]!;
  return '█'.repeat(Math.floor(eighths / 8)) + partial;
}

const LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * Values as a sparkline, scaled to their largest: a zero as a space (nothing happened),
 * anything above zero at least the lowest block, so that a quiet step is told from an empty one.
 */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (v <= 0 || max === 0 ? ' ' : LEVELS[Math.min(LEVELS.length - 1, Math.ceil((v / max) * LEVELS.length) - 1)]!)).join('');
}
