import { STATUS_CODES } from 'node:http';
import type { AttributeKinds, Attributes, Span } from '../../collector/src/model/span.js';
import { SpanKind, StatusCode } from '../../collector/src/model/span.js';
import { eventsJson, linksJson } from './events.js';
import { lookup, lookupInt, normalizeTagValue, operationName, resourceName, spanType } from './semantics.js';

/**
 * An OpenTelemetry span as a Datadog span (the trace intake's v0.4 span), mapped the way the
 * Datadog Agent's own OTLP ingest maps it by default (datadog-agent v0.85.4,
 * pkg/trace/transform/transform.go `OtelSpanToDDSpan`; docs.datadoghq.com "OTLP Ingestion by
 * the Datadog Agent"), so that spans look the same in Datadog whichever way they arrive.
 * Where this differs from that function, the comment says why.
 */
export interface DatadogSpan {
  service: string;
  name: string;
  resource: string;
  /** The low 64 bits of the 128-bit trace ID; the high ones are in meta `_dd.p.tid`. */
  trace_id: bigint;
  span_id: bigint;
  /** 0 for a root span. */
  parent_id: bigint;
  /** Unix nanoseconds. */
  start: bigint;
  /** Nanoseconds. */
  duration: bigint;
  /** 1 when the status is ERROR. */
  error: number;
  type: string;
  meta: Record<string, string>;
  /** Kept last: the record format appends `_top_level` to it without decoding the span (records.ts). */
  metrics: Record<string, number>;
}

/** The service of spans without `service.name` (the agent's `DefaultOTLPServiceName`). */
export const DEFAULT_SERVICE = 'otlpresourcenoservicename';

/** Metric keys with a meaning in Datadog. */
export const TOP_LEVEL = '_top_level';
export const MEASURED = '_dd.measured';
export const SAMPLING_PRIORITY = '_sampling_priority_v1';
/** Meta key of the high 64 bits of a 128-bit trace ID, 16 lower-case hex digits, as Datadog tracers send it. */
export const TRACE_ID_HIGH = '_dd.p.tid';

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_NAMES = ['Unset', 'Ok', 'Error'];

/** OTel attribute keys the agent renames to Datadog's HTTP conventions (opentelemetry-mapping-go attributes.HTTPMappings). */
const HTTP_KEYS = new Map<string, string>([
  ['client.address', 'http.client_ip'],
  ['http.response.body.size', 'http.response.content_length'],
  ['http.response.status_code', 'http.status_code'],
  ['http.request.body.size', 'http.request.content_length'],
  ['http.request.header.referrer', 'http.referrer'],
  ['http.request.method', 'http.method'],
  ['http.route', 'http.route'],
  ['network.protocol.version', 'http.version'],
  ['server.address', 'http.server_name'],
  ['url.full', 'http.url'],
  ['user_agent.original', 'http.useragent'],
]);

/** The meta/metrics key of an attribute; '' for those that become span fields (service, name, resource, type). */
function datadogKey(key: string): string {
  const mapped = HTTP_KEYS.get(key); // a Map: `__proto__` or `constructor` are not keys of it
  if (mapped) return mapped;
  if (key.startsWith('http.request.header.')) return 'http.request.headers.' + key.slice('http.request.header.'.length);
  if (key === 'service.name' || key === 'operation.name' || key === 'resource.name' || key === 'span.type') return '';
  return key;
}

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? 'unspecified';
}

/** A hex ID as an unsigned 64-bit integer; '' (no parent) is 0. */
export function hexToU64(hex: string): bigint {
  return hex === '' ? 0n : BigInt('0x' + hex);
}

export function toDatadogSpan(span: Span): DatadogSpan {
  // Null prototypes: an attribute called `__proto__` is then an ordinary key.
  const meta = Object.create(null) as Record<string, string>;
  const metrics = Object.create(null) as Record<string, number>;
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  const dd: DatadogSpan = {
    service: service(span),
    name: operationName(span),
    resource: resourceName(span),
    trace_id: hexToU64(span.traceId.slice(16)),
    span_id: hexToU64(span.spanId),
    parent_id: hexToU64(span.parentSpanId),
    start: span.startTimeUnixNano,
    // The agent's normalizer would reject a negative duration; it clamps to 0 too.
    duration: duration < 0n ? 0n : duration,
    error: span.statusCode === StatusCode.ERROR ? 1 : 0,
    type: spanType(span),
    meta,
    metrics,
  };

  meta['span.kind'] = kindName(span.kind);
  const httpStatus = lookupInt(span, ['http.status_code', 'http.response.status_code']);
  if (httpStatus !== undefined && httpStatus >= 0) metrics['http.status_code'] = httpStatus;
  const grpcStatus = grpcStatusCode(span);
  if (grpcStatus) meta['rpc.grpc.status_code'] = grpcStatus;
  if (span.traceState) meta['w3c.tracestate'] = span.traceState;

  // Span attributes first: they win over resource attributes of the same key.
  addAttributes(dd, span.attributes, span.attributeKinds, true);

  meta['otel.trace_id'] = span.traceId;
  const high = span.traceId.slice(0, 16);
  // Datadog tracers send it only for 128-bit IDs; the agent reads it back into the full ID.
  if (high !== '0000000000000000') meta[TRACE_ID_HIGH] = high;
  if (!('version' in meta)) {
    const version = lookup(span, 'serviceVersion', true);
    if (version) meta.version = version;
  }
  if (span.events.length > 0) meta.events = eventsJson(span.events);
  if (span.events.some((e) => e.name === 'exception')) meta['_dd.span_events.has_exception'] = 'true';
  if (span.links.length > 0) meta['_dd.span_links'] = linksJson(span.links);
  if (span.scope.name) meta['otel.scope.name'] = meta['otel.library.name'] = span.scope.name;
  if (span.scope.version) meta['otel.scope.version'] = meta['otel.library.version'] = span.scope.version;
  meta['otel.status_code'] = STATUS_NAMES[span.statusCode] ?? 'Unset';
  if (span.statusMessage) meta['otel.status_description'] = span.statusMessage;
  if (dd.error) addErrorDetails(span, meta, httpStatus);
  if (!('env' in meta)) {
    const env = lookup(span, 'env', true);
    if (env) meta.env = env;
  }
  // Resource attributes all go to meta, numbers included, as the agent does.
  addAttributes(dd, span.resource.attributes, undefined, false);
  for (const [k, v] of Object.entries(span.scope.attributes)) meta[k] = v;
  if (!('db.name' in meta)) {
    const namespace = lookup(span, 'dbNamespace');
    if (namespace) meta['db.name'] = namespace;
  }

  // Not in the agent's OTLP ingest, which decides these per chunk itself; the v0.4 intake
  // takes them from the spans. Every span carries them because a trace's spans may reach
  // the agent in different requests.
  if (!(SAMPLING_PRIORITY in metrics)) metrics[SAMPLING_PRIORITY] = 1; // AUTO_KEEP: the SDK already sampled
  if (span.kind >= SpanKind.SERVER && span.kind <= SpanKind.CONSUMER) metrics[MEASURED] = 1;
  // Computed when the whole batch is known (records.ts); an attribute must not fake it.
  delete metrics[TOP_LEVEL];
  return dd;
}

function service(span: Span): string {
  const name = lookup(span, 'serviceName');
  // As the agent's NormalizeService: a name with nothing valid in it becomes its fallback.
  return name ? normalizeTagValue(name.slice(0, 100)) || 'unnamed-service' : DEFAULT_SERVICE;
}

/** Attributes to meta (strings, booleans, bytes, arrays) and metrics (ints, doubles), the first value of a key winning. */
function addAttributes(dd: DatadogSpan, attributes: Attributes, kinds: AttributeKinds | undefined, numbersAsMetrics: boolean): void {
  for (const key of Object.keys(attributes)) {
    const ddKey = datadogKey(key);
    if (!ddKey) continue;
    const value = attributes[key];
    const kind = kinds?.[key];
    if (numbersAsMetrics && (kind === 'int' || kind === 'double')) {
      const metricKey = ddKey === 'sampling.priority' ? SAMPLING_PRIORITY : ddKey;
      if (!(metricKey in dd.metrics)) dd.metrics[metricKey] = kind === 'int' ? Number(value) : doubleValue(value);
    } else if (ddKey === 'analytics.event') {
      // Datadog's App Analytics flag, a metric on Datadog's side.
      if ((value === 'true' || value === 'false') && !('_dd1.sr.eausr' in dd.metrics)) dd.metrics['_dd1.sr.eausr'] = value === 'true' ? 1 : 0;
    } else if (!dd.meta[ddKey]) {
      dd.meta[ddKey] = value;
    }
  }
}

/** The model keeps NaN and ±Inf doubles as pdata's error text (model/span.ts). */
function doubleValue(v: string): number {
  if (v.endsWith('NaN')) return NaN;
  if (v.endsWith('+Inf')) return Infinity;
  if (v.endsWith('-Inf')) return -Infinity;
  return Number(v);
}

const GRPC_STATUS_KEYS = ['rpc.grpc.status_code', 'grpc.code', 'rpc.grpc.status.code', 'grpc.status.code'];

function grpcStatusCode(span: Span): string {
  for (const key of GRPC_STATUS_KEYS) {
    const v = span.attributes[key] ?? span.resource.attributes[key];
    if (v) return v;
  }
  // Newer semconv: a generic RPC status, which is a gRPC code only for gRPC.
  const system = span.attributes['rpc.system.name'] ?? span.attributes['rpc.system'];
  return system === 'grpc' ? (span.attributes['rpc.response.status_code'] ?? '') : '';
}

/**
 * error.msg / error.type / error.stack from the `exception` event (the last one wins), then
 * the status message or the HTTP status as the message. The agent's OTLP ingest took them from
 * the event up to 7.5x; now it leaves that to Datadog's backend, which only works for spans
 * that reach it through the agent's OTLP path. Here they are set so that Error Tracking has them.
 */
function addErrorDetails(span: Span, meta: Record<string, string>, httpStatus: number | undefined): void {
  for (const e of span.events) {
    if (e.name.toLowerCase() !== 'exception') continue;
    const a = e.attributes;
    if (a['exception.message'] !== undefined) meta['error.msg'] = a['exception.message'];
    if (a['exception.type'] !== undefined) meta['error.type'] = a['exception.type'];
    if (a['exception.stacktrace'] !== undefined) meta['error.stack'] = a['exception.stacktrace'];
  }
  if ('error.msg' in meta) return;
  if (span.statusMessage) meta['error.msg'] = span.statusMessage;
  else if (httpStatus !== undefined) meta['error.msg'] = STATUS_CODES[httpStatus] ? `${httpStatus} ${STATUS_CODES[httpStatus]}` : String(httpStatus);
}

/** What top-level detection needs of a span. */
export interface SpanRef {
  spanId: bigint;
  parentId: bigint;
  service: string;
}

/**
 * Which spans of one trace are top level ("service entry spans", metric `_top_level`): roots,
 * spans whose parent is not among them (it is in another service's process, or another
 * batch), and spans whose parent is in another service. The agent's rule
 * (pkg/trace/traceutil ComputeTopLevel), applied to everything one send holds of the trace.
 */
export function topLevelFlags(trace: readonly SpanRef[]): boolean[] {
  const serviceById = new Map<bigint, string>();
  for (const s of trace) serviceById.set(s.spanId, s.service);
  return trace.map((s) => {
    if (s.parentId === 0n) return true;
    const parentService = serviceById.get(s.parentId);
    return parentService === undefined || parentService !== s.service;
  });
}
