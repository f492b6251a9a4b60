/**
 * Traffic for the scale-out tests: traces that cross services (so stitching pairs calls and the
 * service graph has edges), some failing (so tail sampling has something to keep), whose spans
 * leave each service in a request of their own — so the spans of one trace can reach different
 * collectors, as they do behind a load balancer.
 */
import { randomBytes } from 'node:crypto';
import { encodeTraceRequest } from '../../exporters/otlp/encoder.js';
import { SpanKind, StatusCode, type Resource, type Span } from '../../collector/src/model/span.js';

export interface ScaleTrace {
  traceId: string;
  failed: boolean;
  /** Per service, the spans it sends (one OTLP request each). */
  parts: Array<{ service: string; spans: Span[] }>;
  spanIds: string[];
}

const resources = new Map<string, Resource>();
function resource(service: string): Resource {
  let r = resources.get(service);
  if (!r) {
    r = { attributes: { 'service.name': service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service };
    resources.set(service, r);
  }
  return r;
}
const scope = { name: 'scale-test', version: '1', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function span(traceId: string, service: string, name: string, kind: number, parent: string, startNs: bigint, ms: number, status: number = StatusCode.UNSET): Span {
  return {
    resource: resource(service),
    scope,
    traceId,
    spanId: hex(8),
    parentSpanId: parent,
    traceState: '',
    flags: 1,
    name,
    kind,
    startTimeUnixNano: startNs,
    endTimeUnixNano: startNs + BigInt(ms * 1_000_000),
    attributes: kind === SpanKind.SERVER ? { 'http.route': name.split(' ')[1] ?? name } : {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: status,
    statusMessage: status === StatusCode.ERROR ? 'payment declined' : '',
  };
}

/**
 * gateway (SERVER, CLIENT) → orders (SERVER, INTERNAL, CLIENT) → payments (SERVER): six spans in
 * three requests, `attributes` on each; every `failEvery`-th trace fails in payments — only that span has the error, so
 * a tail-sampling decision taken on part of a trace (keep errors) keeps part of it.
 */
export function scaleTrace(index: number, failEvery = 5, attributes: Record<string, string> = {}): ScaleTrace {
  const traceId = hex(16);
  const failed = index % failEvery === 0;
  const error = failed ? StatusCode.ERROR : StatusCode.UNSET;
  const t0 = BigInt(Date.now() - 5_000) * 1_000_000n;
  const ms = (n: number) => t0 + BigInt(n * 1_000_000);
  const edge = span(traceId, 'gateway', 'GET /checkout', SpanKind.SERVER, '', ms(0), 40);
  const callOrders = span(traceId, 'gateway', 'POST /orders', SpanKind.CLIENT, edge.spanId, ms(1), 35);
  const orders = span(traceId, 'orders', 'POST /orders', SpanKind.SERVER, callOrders.spanId, ms(2), 32);
  const method = span(traceId, 'orders', 'OrderService.place', SpanKind.INTERNAL, orders.spanId, ms(3), 28);
  const callPay = span(traceId, 'orders', 'POST /pay', SpanKind.CLIENT, method.spanId, ms(4), 20);
  const pay = span(traceId, 'payments', 'POST /pay', SpanKind.SERVER, callPay.spanId, ms(5), 18, error);
  for (const s of [edge, callOrders, orders, method, callPay, pay]) Object.assign(s.attributes, attributes);
  const parts = [
    { service: 'gateway', spans: [edge, callOrders] },
    { service: 'orders', spans: [orders, method, callPay] },
    { service: 'payments', spans: [pay] },
  ];
  return { traceId, failed, parts, spanIds: parts.flatMap((p) => p.spans.map((s) => s.spanId)) };
}

/** The OTLP/HTTP protobuf body of some spans. */
export function otlpBody(spans: readonly Span[]): Buffer {
  return Buffer.from(encodeTraceRequest(spans));
}

/**
 * POSTs a body to a collector's OTLP/HTTP receiver, retrying (bounded) while it answers 429/503 —
 * as an OTLP client does; resolves once the collector acknowledged it.
 */
export async function sendAcknowledged(httpEndpoint: string, body: Buffer, attempts = 200): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const response = await fetch(`${httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
    await response.arrayBuffer();
    if (response.ok) return;
    if (response.status !== 429 && response.status !== 503) throw new Error(`OTLP export refused: HTTP ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('OTLP export still refused after the retries');
}
