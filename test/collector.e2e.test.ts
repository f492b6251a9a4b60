import { context, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, getJson, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { KIND_NAMES, STATUS_NAMES, storedString, typedAttributes, type OtlpRequest, type OtlpSpan } from './helpers/otlp-json.js';
import type { SpanView } from '../collector/src/query/span-view.js';

let collector: RunningCollector;

beforeAll(async () => {
  // Storage fidelity, field for field: no processor may add or change anything here.
  collector = await startCollector({ config: 'pipeline:\n  processors: []\n' });
});
afterAll(cleanup);

/** Emits one trace of three spans through `exporter`, exercising every field the SDK can set. */
async function emitTrace(exporter: SpanExporter, tag: string): Promise<{ traceId: string; sent: OtlpSpan[]; request: OtlpRequest }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `roundtrip-${tag}`, 'service.version': '1.4.2', 'host.cpus': 8, 'deployment.canary': true }),
    spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
    spanLimits: { attributeCountLimit: 12, eventCountLimit: 2, linkCountLimit: 2 },
  });
  const tracer = provider.getTracer(`scope-${tag}`, '3.2.1', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  // A remote parent carrying trace state, as an incoming `traceparent`/`tracestate` would.
  const remote = trace.setSpanContext(context.active(), {
    traceId: randomHex(16),
    spanId: randomHex(8),
    traceFlags: 1,
    traceState: new TraceState('vendor=abc,other=xyz'),
    isRemote: true,
  });
  const link = { traceId: randomHex(16), spanId: randomHex(8), traceFlags: 1, traceState: new TraceState('l=1') };
  const attributes: Attributes = {
    'http.request.method': 'GET',
    'http.route': '/orders/:id',
    'http.response.status_code': 200,
    'server.latency_ratio': 0.25,
    'big.int': 9_007_199_254_740_991,
    'cache.hit': false,
    'tags.list': ['a', 'b', 'c'],
    'numbers.list': [1, 2, 3],
    'doubles.list': [1.5, 2.5],
    'bools.list': [true, false],
    'unicode.text': 'naïve ☕ 日本 "quoted" \\ back\nline',
    'empty.string': '',
    'dropped.one': 'over the limit of 12',
  };
  const server = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, attributes, links: [{ context: link, attributes: { 'link.reason': 'batch', 'link.n': 3 } }] }, remote);
  server.addEvent('cache.miss', { 'cache.key': 'order:42', 'cache.ttl': 30 });
  server.addEvent('retry', { attempt: 2 });
  server.addEvent('third event', {}); // over eventCountLimit: dropped and counted
  const inner = trace.setSpan(remote, server);
  const method = tracer.startSpan('OrderService.find', { kind: SpanKind.INTERNAL, attributes: { 'code.function.name': 'find', 'flowtrace.args.0': '42' } }, inner);
  method.recordException(new Error('not in cache'));
  method.setStatus({ code: SpanStatusCode.ERROR, message: 'lookup failed' });
  method.end();
  const client = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, inner);
  client.setStatus({ code: SpanStatusCode.OK });
  client.end();
  server.end();
  await provider.forceFlush();
  const finished: ReadableSpan[] = memory.getFinishedSpans();
  await provider.shutdown();
  const request = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(finished))) as OtlpRequest;
  const sent = request.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
  return { traceId: server.spanContext().traceId, sent, request };
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

function expectSameSpan(got: SpanView, sent: OtlpSpan, request: OtlpRequest): void {
  const rs = request.resourceSpans[0]!;
  const ss = rs.scopeSpans[0]!;
  expect(got).toEqual({
    traceId: sent.traceId,
    spanId: sent.spanId,
    parentSpanId: sent.parentSpanId ?? '',
    traceState: sent.traceState ?? '',
    flags: sent.flags ?? 0,
    name: sent.name,
    kind: KIND_NAMES[sent.kind],
    serviceName: typedAttributes(rs.resource?.attributes)['service.name'],
    startTimeUnixNano: String(sent.startTimeUnixNano),
    endTimeUnixNano: String(sent.endTimeUnixNano),
    durationNano: String(BigInt(sent.endTimeUnixNano) - BigInt(sent.startTimeUnixNano)),
    attributes: typedAttributes(sent.attributes),
    droppedAttributesCount: sent.droppedAttributesCount ?? 0,
    resource: { attributes: typedAttributes(rs.resource?.attributes), droppedAttributesCount: rs.resource?.droppedAttributesCount ?? 0, schemaUrl: rs.schemaUrl ?? '' },
    scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '', attributes: typedAttributes(ss.scope?.attributes), droppedAttributesCount: 0, schemaUrl: ss.schemaUrl ?? '' },
    events: (sent.events ?? []).map((e) => ({
      timeUnixNano: String(e.timeUnixNano),
      name: e.name,
      attributes: typedAttributes(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: sent.droppedEventsCount ?? 0,
    links: (sent.links ?? []).map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      traceState: l.traceState ?? '',
      flags: l.flags ?? 0,
      attributes: typedAttributes(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
    })),
    droppedLinksCount: sent.droppedLinksCount ?? 0,
    status: { code: STATUS_NAMES[sent.status?.code ?? 0], message: sent.status?.message ?? '' },
  });
}

const transports: Array<[string, () => SpanExporter]> = [
  ['grpc', () => new GrpcExporter({ url: collector.grpcEndpoint })],
  ['grpc-gzip', () => new GrpcExporter({ url: collector.grpcEndpoint, compression: CompressionAlgorithm.GZIP })],
  ['http-protobuf', () => new HttpProtoExporter({ url: `${collector.httpEndpoint}/v1/traces` })],
  ['http-protobuf-gzip', () => new HttpProtoExporter({ url: `${collector.httpEndpoint}/v1/traces`, compression: CompressionAlgorithm.GZIP })],
  ['http-json', () => new HttpJsonExporter({ url: `${collector.httpEndpoint}/v1/traces` })],
];

describe('OpenTelemetry JS SDK → collector → ClickHouse → query API', () => {
  it.each(transports)('every field round-trips over %s, to the nanosecond', async (tag, makeExporter) => {
    const { traceId, sent, request } = await emitTrace(makeExporter(), tag);
    expect(sent).toHaveLength(3);
    expect(sent.find((s) => s.name.startsWith('GET'))!.droppedAttributesCount).toBe(1);
    expect(sent.find((s) => s.name.startsWith('GET'))!.droppedEventsCount).toBe(1);

    const body = await waitFor(
      async () => {
        const t = await getJson<{ traceId: string; spans: SpanView[] }>(`${collector.apiUrl}/api/traces/${traceId}`);
        return t && t.spans.length === 3 ? t : undefined;
      },
      `trace ${traceId} in the API`,
    );
    for (const s of sent) {
      const got = body.spans.find((g) => g.spanId === s.spanId);
      expect(got, `span ${s.name}`).toBeDefined();
      expectSameSpan(got!, s, request);
    }
    // Spans come ordered by start.
    const starts = body.spans.map((s) => BigInt(s.startTimeUnixNano));
    expect([...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(starts);

    // The same data through SQL on otel_traces, in the OpenTelemetry exporter's string forms.
    const rows = await sql<{ SpanId: string; ts: string; Duration: string; SpanKind: string; StatusCode: string; SpanAttributes: Record<string, string>; ServiceName: string; ScopeName: string; ScopeVersion: string; TraceState: string; ev: string[] }>(
      collector.apiUrl,
      `SELECT SpanId, toString(toUnixTimestamp64Nano(Timestamp)) AS ts, Duration, SpanKind, StatusCode, SpanAttributes, ServiceName, ScopeName, ScopeVersion, TraceState,
              arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS ev
       FROM otel_traces WHERE TraceId = '${traceId}'`,
    );
    expect(rows).toHaveLength(3);
    for (const s of sent) {
      const row = rows.find((r) => r.SpanId === s.spanId)!;
      expect(row.ts).toBe(String(s.startTimeUnixNano));
      expect(BigInt(row.Duration)).toBe(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));
      expect(row.SpanKind).toBe(KIND_NAMES[s.kind]);
      expect(row.StatusCode).toBe(STATUS_NAMES[s.status?.code ?? 0]);
      expect(row.ServiceName).toBe(`roundtrip-${tag}`);
      expect(row.ScopeName).toBe(`scope-${tag}`);
      expect(row.ScopeVersion).toBe('3.2.1');
      expect(row.TraceState).toBe(s.traceState ?? '');
      expect(row.SpanAttributes).toEqual(Object.fromEntries((s.attributes ?? []).map((kv) => [kv.key, storedString(kv.value)])));
      expect(row.ev).toEqual((s.events ?? []).map((e) => String(e.timeUnixNano)));
    }
  });

  it('answers search, services and operations', async () => {
    const { traceId } = await emitTrace(new GrpcExporter({ url: collector.grpcEndpoint }), 'search');
    const found = await waitFor(async () => {
      const r = await getJson<{ traces: Array<{ traceId: string; spanCount: number; errorCount: number; rootSpanName: string; services: string[] }> }>(
        `${collector.apiUrl}/api/traces?service=roundtrip-search&limit=5`,
      );
      return r?.traces.find((t) => t.traceId === traceId);
    }, 'search result');
    expect(found).toMatchObject({ spanCount: 3, errorCount: 1, services: ['roundtrip-search'] });

    const byTag = await getJson<{ traces: Array<{ traceId: string }> }>(
      `${collector.apiUrl}/api/traces?service=roundtrip-search&tags=${encodeURIComponent('{"db.system":"postgresql"}')}&minDuration=0ms`,
    );
    expect(byTag!.traces.map((t) => t.traceId)).toContain(traceId);
    const noMatch = await getJson<{ traces: unknown[] }>(`${collector.apiUrl}/api/traces?service=roundtrip-search&tags=db.system=oracle`);
    expect(noMatch!.traces).toEqual([]);

    const services = await getJson<{ services: string[] }>(`${collector.apiUrl}/api/services`);
    expect(services!.services).toContain('roundtrip-search');
    const ops = await getJson<{ operations: Array<{ name: string; spanKind: string }> }>(`${collector.apiUrl}/api/services/roundtrip-search/operations`);
    expect(ops!.operations).toEqual([
      { name: 'GET /orders/:id', spanKind: 'Server' },
      { name: 'OrderService.find', spanKind: 'Internal' },
      { name: 'SELECT orders', spanKind: 'Client' },
    ]);
  });

  it('refuses bad query parameters with 400 and a message', async () => {
    for (const [path, message] of [
      ['/api/traces/not-a-trace-id', 'trace ID: expected 32 hex digits'],
      ['/api/traces?minDuration=fast', 'minDuration: expected a duration'],
      ['/api/traces?limit=0', 'limit: expected a whole number'],
      ['/api/traces?start=yesterday', 'start: expected microseconds'],
      ['/api/traces?tags=%7Bbroken', 'tags: invalid JSON object'],
    ] as const) {
      const res = await fetch(collector.apiUrl + path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain(message);
    }
    expect((await fetch(`${collector.apiUrl}/api/traces/${'ab'.repeat(16)}`)).status).toBe(404);
  });

  it('keeps user SQL read-only and limited', async () => {
    const post = (query: unknown) =>
      fetch(`${collector.apiUrl}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    for (const write of ['DROP TABLE otel_traces', "INSERT INTO otel_traces (TraceId) VALUES ('x')", 'ALTER TABLE otel_traces DELETE WHERE 1', 'CREATE TABLE t (a UInt8) ENGINE = Memory']) {
      const res = await post(write);
      expect(res.status, write).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/is not allowed: only a single SELECT statement is/);
    }
    const syntax = await post('SELEC 1');
    expect(syntax.status).toBe(400);
    expect(((await syntax.json()) as { error: string }).error).toMatch(/syntax/i);
    expect((await post(42)).status).toBe(400);
    const ok = await post('SELECT count() AS n FROM otel_traces');
    expect(ok.status).toBe(200);
    const big = await post('SELECT number FROM numbers(20000)');
    expect(big.status).toBe(200);
    const cut = (await big.json()) as { rows: Array<{ number: string }>; rowCount: number; truncated: boolean };
    expect(cut).toMatchObject({ rowCount: 10_000, truncated: true });
    expect(cut.rows).toHaveLength(10_000);
    expect(cut.rows.at(-1)).toEqual({ number: '9999' });
    // A query failing after some output must not leak into the next result (an embedded-engine trap).
    const midway = await post("SELECT number, throwIf(number > 5000, 'midway') AS t FROM numbers(8000)");
    expect(midway.status).toBe(400);
    expect(((await midway.json()) as { error: string }).error).toContain('midway');
    const small = (await (await post('SELECT number FROM numbers(3)')).json()) as { rowCount: number; truncated: boolean };
    expect(small).toMatchObject({ rowCount: 3, truncated: false });
    // The table still exists and still takes data.
    const count = await sql<{ n: string }>(collector.apiUrl, 'SELECT count() AS n FROM otel_traces');
    expect(Number(count[0]!.n)).toBeGreaterThan(0);
  });

  it('exposes health, readiness and Prometheus metrics', async () => {
    expect((await fetch(`${collector.apiUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${collector.apiUrl}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${collector.apiUrl}/metrics`)).text();
    for (const name of [
      'flowtrace_receiver_spans_received_total{transport="grpc"}',
      'flowtrace_receiver_spans_accepted_total{transport="http"}',
      'flowtrace_exporter_spans_sent_total{exporter="clickhouse"}',
      'flowtrace_exporter_queue_spans{exporter="clickhouse"}',
      'flowtrace_exporter_send_duration_seconds_bucket',
      'flowtrace_process_resident_memory_bytes',
    ]) {
      expect(metrics).toContain(name);
    }
    // Storage only: every protobuf request went straight into rows (JSON ones are decoded into spans).
    const value = (name: string) => Number(/ (\S+)$/.exec(metrics.split('\n').find((line) => line.startsWith(name)) ?? '')?.[1] ?? NaN);
    expect(value('flowtrace_receiver_spans_accepted_as_rows_total{transport="grpc"}')).toBe(value('flowtrace_receiver_spans_accepted_total{transport="grpc"}'));
    expect(value('flowtrace_receiver_spans_accepted_as_rows_total{transport="grpc"}')).toBeGreaterThan(0);
  });
});
