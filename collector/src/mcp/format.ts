/**
 * Compact text for models: CSV rows (RFC 4180 quoting) and `key: value` lines, never pretty
 * JSON, whose braces, quotes and indentation cost tokens and carry nothing.
 */
export { formatDuration } from '../cli/format.js';

/** A CSV field: quoted when it holds a comma, quote or line break. */
export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: readonly unknown[]): string {
  return values.map(csvField).join(',');
}

/** A word in a space-separated line: quoted (JSON) when empty or holding spaces, quotes or control characters. */
export function word(text: string): string {
  return text === '' || /[\s"\\\u0000-\u001f]/.test(text) ? JSON.stringify(text) : text;
}

/** An attribute value on one line: strings as they are unless they need quoting, the rest as compact JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return /[\r\n\t"\\\u0000-\u001f]/.test(value) || value === '' || value !== value.trim() ? JSON.stringify(value) : value;
  return value === undefined ? '' : JSON.stringify(value);
}

/** Nanoseconds since the epoch (decimal string) as an ISO-8601 UTC time with microseconds. */
export function isoTime(unixNano: string): string {
  const ns = BigInt(unixNano);
  const ms = ns / 1_000_000n;
  const micros = (ns / 1_000n) % 1_000n;
  return new Date(Number(ms)).toISOString().replace('Z', `${micros.toString().padStart(3, '0')}Z`);
}

/** Milliseconds with at most 3 decimals, for CSV columns (no unit: the header names it). */
export function msNumber(ns: bigint | string): string {
  const n = Number(BigInt(ns)) / 1e6;
  return String(Math.round(n * 1000) / 1000);
}
