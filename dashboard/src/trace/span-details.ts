/**
 * The span route's answer (`GET /api/traces/:traceId/spans/:spanId`) and how the side panel
 * shows it: each attribute with the type it was sent with (the API types values again: string,
 * int, double, bool, array, object; 64-bit integers beyond 2^53 as decimal strings), as text.
 */

export interface AttributeMap {
  [key: string]: unknown;
}

export interface SpanEventJson {
  timeUnixNano: string;
  name: string;
  attributes: AttributeMap;
}

export interface SpanLinkJson {
  traceId: string;
  spanId: string;
  attributes: AttributeMap;
}

export interface SpanJson {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  serviceName: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationNano: string;
  endBeforeStart?: boolean;
  attributes: AttributeMap;
  resource: { attributes: AttributeMap };
  scope: { name: string; version?: string };
  events: SpanEventJson[];
  links: SpanLinkJson[];
  status: { code: string; message?: string };
}

export interface SpanDetailsJson {
  span: SpanJson;
  arguments: Array<{ index: number; key: string; value: unknown }>;
  /** Absent when the return value was not captured. */
  returnValue?: unknown;
  exceptions: Array<{ timeUnixNano: string; type: string; message: string; stacktrace: string }>;
}

export interface AttributeRow {
  key: string;
  type: 'string' | 'int' | 'double' | 'bool' | 'array' | 'object' | 'null';
  /** The value as text (JSON for arrays and objects). */
  text: string;
}

/** The attribute type a JSON value stands for. */
export function attributeType(value: unknown): AttributeRow['type'] {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'double';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value) ?? String(value);
}

/** Attributes sorted by key, the `flowtrace.args.*` / `flowtrace.return` ones left to their own sections when `skipCaptured`. */
export function attributeRows(attributes: AttributeMap, skipCaptured = false): AttributeRow[] {
  return Object.keys(attributes)
    .filter((key) => !(skipCaptured && (key.startsWith('flowtrace.args.') || key === 'flowtrace.return')))
    .sort()
    .map((key) => ({ key, type: attributeType(attributes[key]), text: valueText(attributes[key]) }));
}

/** Nanoseconds between two decimal-string instants (exact to the ns below ~104 days). */
export function offsetNs(fromNs: string, toNs: string): number {
  return Number(BigInt(toNs) - BigInt(fromNs));
}
