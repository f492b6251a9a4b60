import type { SpanView } from '../query/span-view.js';

/** A cell as text: objects and arrays as compact JSON, null as empty. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A plain-text table with a header rule, columns padded to their widest cell. */
export function formatTable(columns: string[], rows: Array<Record<string, unknown>>): string {
  const cells = rows.map((r) => columns.map((c) => visible(cellText(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters as visible escapes (`\x1b`, `\n`): what a table shows comes from whoever
 * sends spans (names, attribute keys and values), and an ESC or CSI in it would be a command to
 * the terminal (retitle, clear, move the cursor), a line break a forged row.
 */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Every string inside `value` (arrays and plain objects walked; other values kept) through
 * `visible`: for answers whose span-controlled text a formatter prints in many places.
 */
export function visibleStrings<T>(value: T): T {
  if (typeof value === 'string') return visible(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => visibleStrings(item)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [visible(k), visibleStrings(v)])) as T;
  }
  return value;
}

/** RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled. */
export function formatCsv(columns: string[], rows: Array<Record<string, unknown>>): string {
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [columns, ...rows.map((r) => columns.map((c) => cellText(r[c])))].map((r) => r.map(field).join(',')).join('\n') + '\n';
}

/** Nanoseconds as a short human duration: 830ns, 12.4µs, 3.21ms, 1.50s. */
export function formatDuration(ns: bigint): string {
  const n = Number(ns);
  if (n < 1_000) return `${n}ns`;
  if (n < 1_000_000) return `${(n / 1_000).toFixed(1)}µs`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(2)}ms`;
  return `${(n / 1_000_000_000).toFixed(2)}s`;
}

/**
 * A trace as an indented tree: each span with its service, kind, duration and offset from
 * the trace's start. Spans whose parent is not in the trace are shown as roots, marked.
 */
export function formatTraceTree(traceId: string, spans: SpanView[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, SpanView[]>();
  const roots: SpanView[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const start = spans.reduce((min, s) => (BigInt(s.startTimeUnixNano) < min ? BigInt(s.startTimeUnixNano) : min), BigInt(spans[0]!.startTimeUnixNano));
  const end = spans.reduce((max, s) => (BigInt(s.endTimeUnixNano) > max ? BigInt(s.endTimeUnixNano) : max), 0n);
  const services = new Set(spans.map((s) => s.serviceName));
  const lines = [`trace ${traceId}  ${spans.length} spans, ${services.size} services, ${formatDuration(end - start)}`];
  const walk = (span: SpanView, prefix: string, last: boolean) => {
    const orphan = span.parentSpanId && !ids.has(span.parentSpanId) ? '  (parent not in trace)' : '';
    const error = span.status.code === 'Error' ? `  ✗ ${span.status.message || 'error'}` : '';
    const offset = formatDuration(BigInt(span.startTimeUnixNano) - start);
    lines.push(
      `${prefix}${last ? '└─ ' : '├─ '}${span.name}  [${span.serviceName} · ${span.kind}]  ${formatDuration(BigInt(span.durationNano))}  @+${offset}${error}${orphan}`,
    );
    const kids = children.get(span.spanId) ?? [];
    kids.forEach((k, i) => walk(k, prefix + (last ? '   ' : '│  '), i === kids.length - 1));
  };
  roots.forEach((r, i) => walk(r, '', i === roots.length - 1));
  return lines.join('\n') + '\n';
}
