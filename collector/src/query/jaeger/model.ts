/**
 * Stored spans (`otel_traces` rows) to Jaeger's UI JSON model, as Jaeger v2's query service
 * answers `/api/traces`: the OpenTelemetry Collector's OTLP→Jaeger translator
 * (pkg/translator/jaeger, `ProtoFromTraces`) followed by the query service's adjusters that
 * change what a client sees (tags sorted by key, the `event` log field first, the parent
 * reference first). Pure functions, no I/O.
 */
import { goDuration, offsetKey, type SkewOffsets } from './clock-skew.js';
import { typedValue, type SpanRow } from '../span-view.js';
import type { ValueKind } from '../../model/span.js';

export type JaegerValueType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

export interface JaegerKeyValue {
  key: string;
  type: JaegerValueType;
  value: unknown;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  /** Microseconds since the epoch. */
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

/** OTLP span kind (as stored) → the `span.kind` tag value and the operations API's `spanKind` ('' for none). */
const KIND_NAMES: Record<string, string> = {
  Internal: 'internal',
  Server: 'server',
  Client: 'client',
  Producer: 'producer',
  Consumer: 'consumer',
};

export function jaegerSpanKind(storedKind: string): string {
  return KIND_NAMES[storedKind] ?? '';
}

/**
 * A trace ID as Jaeger prints it: 32 hex digits, or only the low 16 when the high half is zero
 * (`model.TraceID.String()`).
 */
export function jaegerTraceId(hex32: string): string {
  return hex32.length === 32 && hex32.startsWith('0000000000000000') ? hex32.slice(16) : hex32;
}

/**
 * What Jaeger's query service does to a trace before answering, unless the request says
 * `raw=true`: its adjusters warn about missing parents and correct clock skew.
 */
export interface JaegerAdjust {
  /** `raw=true`: stored times and no adjuster warnings. */
  raw?: boolean;
  /** Clock-skew offsets of the spans to shift (clock-skew.ts); none when absent. */
  offsets?: SkewOffsets;
}

/** Spans of one trace (any order) as one Jaeger trace; processes are numbered p1, p2… by first use. */
export function toJaegerTrace(rows: readonly SpanRow[], adjust: JaegerAdjust = {}): JaegerTrace {
  const processes = new ProcessTable();
  const spans = rows.map((row) => toJaegerSpan(row, processes.idOf(processOf(row)), adjust.raw ? undefined : adjust.offsets?.get(offsetKey(row.TraceId, row.SpanId))));
  if (!adjust.raw) warnMissingParents(spans);
  return { traceID: rows.length > 0 ? jaegerTraceId(rows[0]!.TraceId) : '', spans, processes: processes.mapping(), warnings: null };
}

/** `offsetNs`: the clock-skew shift of its start and its events' times, with Jaeger's warning saying so. */
function toJaegerSpan(row: SpanRow, processID: string, offsetNs = 0n): JaegerSpan {
  const kinds = row.AttributeKinds;
  const tags: JaegerKeyValue[] = [];
  if (row.ScopeName !== '') tags.push(str('otel.scope.name', row.ScopeName));
  if (row.ScopeVersion !== '') tags.push(str('otel.scope.version', row.ScopeVersion));
  tags.push(...keyValues(row.SpanAttributes, kinds, 'span'));
  const kind = jaegerSpanKind(row.SpanKind);
  if (kind !== '') tags.push(str('span.kind', kind));
  if (row.StatusCode === 'Error') tags.push(str('otel.status_code', 'ERROR'), { key: 'error', type: 'bool', value: true });
  else if (row.StatusCode === 'Ok') tags.push(str('otel.status_code', 'OK'));
  if (row.StatusMessage !== '') tags.push(str('otel.status_description', row.StatusMessage));
  if (row.TraceState !== '') tags.push(str('w3c.tracestate', row.TraceState));

  const startNs = BigInt(row.Start) + offsetNs;
  const span: JaegerSpan = {
    traceID: jaegerTraceId(row.TraceId),
    spanID: row.SpanId,
    operationName: row.SpanName,
    references: referencesOf(row),
    startTime: micros(startNs),
    // Truncated on its own (Go's `Duration / 1000`); a span whose end came before its start is stored with duration 0.
    duration: micros(BigInt(row.Duration)),
    tags: sortKeyValues(tags),
    logs: row.EventTimes.map((time, i) => ({
      timestamp: micros(BigInt(time) + offsetNs),
      fields: logFields(row.EventNames[i]!, keyValues(row.EventAttributes[i] ?? {}, kinds, `event.${i}`)),
    })),
    processID,
    warnings: null,
  };
  if (offsetNs !== 0n) span.warnings = [`This span's timestamps were adjusted by ${goDuration(offsetNs)}`];
  return span;
}

/**
 * A span whose parent is not in the trace (never sent, not yet stored, or not readable by this
 * principal) gets the warning Jaeger's clock-skew adjuster gives it, which its UI shows.
 */
function warnMissingParents(spans: JaegerSpan[]): void {
  const present = new Set(spans.map((s) => s.spanID));
  for (const span of spans) {
    const sameTrace = span.references.filter((r) => r.traceID === span.traceID);
    const parent = sameTrace.find((r) => r.refType === 'CHILD_OF') ?? sameTrace[0];
    if (parent && !present.has(parent.spanID)) {
      // First, as Jaeger's adjuster finds it before any shift.
      span.warnings = [`invalid parent span IDs=${parent.spanID}; skipping clock skew adjustment`, ...(span.warnings ?? [])];
    }
  }
}

/** The parent as CHILD_OF, each link as FOLLOWS_FROM (or as its `opentracing.ref_type`); a link to the parent sets the parent's type. */
function referencesOf(row: SpanRow): JaegerReference[] {
  const traceID = jaegerTraceId(row.TraceId);
  const refs: JaegerReference[] = [];
  if (row.ParentSpanId !== '') refs.push({ refType: 'CHILD_OF', traceID, spanID: row.ParentSpanId });
  row.LinkTraceIds.forEach((linkTraceId, i) => {
    const spanID = row.LinkSpanIds[i]!;
    const refType = row.LinkAttributes[i]?.['opentracing.ref_type'] === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM';
    const linkTraceID = jaegerTraceId(linkTraceId);
    if (row.ParentSpanId !== '' && linkTraceID === traceID && spanID === row.ParentSpanId) refs[0]!.refType = refType;
    else refs.push({ refType, traceID: linkTraceID, spanID });
  });
  // Jaeger's ParentReference adjuster: the first same-trace CHILD_OF (else the first same-trace reference) goes first.
  const parent = refs.findIndex((r) => r.traceID === traceID && r.refType === 'CHILD_OF');
  const first = parent !== -1 ? parent : refs.findIndex((r) => r.traceID === traceID);
  if (first > 0) [refs[0], refs[first]] = [refs[first]!, refs[0]!];
  return refs;
}

/** The event's name as the `event` field first (unless an attribute is called `event`), then its attributes sorted. */
function logFields(name: string, attributes: JaegerKeyValue[]): JaegerKeyValue[] {
  const named = attributes.find((kv) => kv.key === 'event' && kv.type === 'string');
  if (name !== '' && !attributes.some((kv) => kv.key === 'event')) return [str('event', name), ...sortKeyValues(attributes)];
  if (named) return [named, ...sortKeyValues(attributes.filter((kv) => kv !== named))];
  return sortKeyValues(attributes);
}

interface ProcessKey {
  serviceName: string;
  tags: JaegerKeyValue[];
}

/** Resource attributes other than `service.name` as the process tags. */
function processOf(row: SpanRow): ProcessKey {
  const attributes = { ...row.ResourceAttributes };
  delete attributes['service.name'];
  return { serviceName: row.ServiceName, tags: sortKeyValues(keyValues(attributes, row.AttributeKinds, 'resource')) };
}

/** Identical processes share one ID, numbered in order of first use (Jaeger's processHashtable). */
class ProcessTable {
  private readonly ids = new Map<string, string>();
  private readonly processes: Record<string, JaegerProcess> = {};

  idOf(process: ProcessKey): string {
    const key = JSON.stringify(process);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = `p${this.ids.size + 1}`;
      this.ids.set(key, id);
      this.processes[id] = process;
    }
    return id;
  }

  mapping(): Record<string, JaegerProcess> {
    return this.processes;
  }
}

/** Stored attributes with their kinds (`where:key` in AttributeKinds) as typed Jaeger tags. */
function keyValues(attributes: Record<string, string>, kinds: Record<string, string>, where: string): JaegerKeyValue[] {
  return Object.entries(attributes).map(([key, text]) => keyValue(key, text, kinds[`${where}:${key}`] as ValueKind | undefined));
}

/** One value as the translator types it: arrays and maps as their JSON text, an empty value as ''. */
export function keyValue(key: string, text: string, kind: ValueKind | undefined): JaegerKeyValue {
  switch (kind) {
    case 'bool':
      return { key, type: 'bool', value: text === 'true' };
    case 'int':
      // Beyond 2^53 the value is a decimal string, as Jaeger's JSON writes it.
      return { key, type: 'int64', value: typedValue(text, 'int') };
    case 'double':
      return { key, type: 'float64', value: typedValue(text, 'double') };
    case 'bytes':
      return { key, type: 'binary', value: text };
    case 'empty':
      return str(key, '');
    default:
      return str(key, text);
  }
}

function str(key: string, value: string): JaegerKeyValue {
  return { key, type: 'string', value };
}

const TYPE_ORDER: Record<JaegerValueType, number> = { string: 0, bool: 1, int64: 2, float64: 3, binary: 4 };

/** By key, then type, then value (jaeger-idl `KeyValues.Sort`). */
export function sortKeyValues(kvs: JaegerKeyValue[]): JaegerKeyValue[] {
  return [...kvs].sort((a, b) => compare(a.key, b.key) || TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || compare(String(a.value), String(b.value)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Nanoseconds to whole microseconds, truncated (Go's `Time.UnixNano() / 1000`). */
function micros(ns: bigint): number {
  return Number(ns / 1000n);
}
