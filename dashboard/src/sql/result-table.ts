/**
 * The SQL console's result, as text: a cell's value as shown and as written to CSV, column
 * widths for the (virtualised) table, and the CSV file itself — built in the browser from the
 * answer, so no data ever travels in a URL.
 */

/** One column as `POST /api/sql` describes it. */
export interface SqlColumn {
  name: string;
  type: string;
}

/** `POST /api/sql`'s answer (collector/src/query/trace-routes.ts). */
export interface SqlAnswer {
  columns: SqlColumn[];
  /** Column name → value as ClickHouse gives it in JSON (64-bit integers as strings). */
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  /** More rows or bytes than the API's limits: only the first are here. */
  truncated: boolean;
  elapsedMs: number;
}

/** A value as text: strings as they are, null as '', numbers and booleans as JSON writes them, arrays, maps and tuples as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Widest column, in characters: longer values wrap. */
export const MAX_COLUMN_CHARS = 60;
const MIN_COLUMN_CHARS = 4;
/** Rows looked at to size the columns: enough to be representative, bounded for huge results. */
const SIZING_ROWS = 200;

/**
 * Each column's width in characters (`ch`): the longest of its name and its first values, within
 * bounds. Fixed widths keep a virtualised table steady while rows come and go as it scrolls.
 */
export function columnWidths(columns: readonly SqlColumn[], rows: ReadonlyArray<Record<string, unknown>>): number[] {
  return columns.map((column) => {
    let widest = column.name.length;
    for (let i = 0; i < rows.length && i < SIZING_ROWS; i++) widest = Math.max(widest, cellText(rows[i]![column.name]).length);
    return Math.min(MAX_COLUMN_CHARS, Math.max(MIN_COLUMN_CHARS, widest + 2));
  });
}

/**
 * RFC 4180 CSV: a header of column names, then the rows, CRLF line ends; a field with a comma,
 * quote or line break is quoted (quotes doubled). Span data is untrusted and spreadsheets run
 * formulas: a text field starting with = + - @ or a tab/CR (and not a plain number) gets a
 * leading apostrophe, as OWASP advises against CSV injection.
 */
export function toCsv(columns: readonly SqlColumn[], rows: ReadonlyArray<Record<string, unknown>>): string {
  const lines = [columns.map((c) => csvField(c.name)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(cellText(row[c.name]))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function csvField(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) && !NUMBER.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** `flowtrace-sql-2026-12-06T10-15-00.csv`: when the result was taken, nothing of the query. */
export function csvFileName(at: Date): string {
  return `flowtrace-sql-${at.toISOString().slice(0, 19).replace(/:/g, '-')}.csv`;
}

/** The editor's text with `insert` put in place of the selection; the caret goes after it. */
export function insertAt(text: string, selectionStart: number, selectionEnd: number, insert: string): { text: string; caret: number } {
  const start = Math.max(0, Math.min(selectionStart, text.length));
  const end = Math.max(start, Math.min(selectionEnd, text.length));
  return { text: text.slice(0, start) + insert + text.slice(end), caret: start + insert.length };
}

/** Ctrl+Enter (Cmd+Enter on a Mac) runs the statement. */
export function isRunShortcut(event: { key: string; ctrlKey: boolean; metaKey: boolean }): boolean {
  return event.key === 'Enter' && (event.ctrlKey || event.metaKey);
}
