/**
 * Smoke test of the real peers that FlowTrace's exporters are tested against (test/peers/,
 * test/helpers/peers.ts), driven without any FlowTrace code: a stock OpenTelemetry SDK exporter
 * talks to Jaeger, and a hand-built msgpack v0.4 payload goes to the Datadog Agent's trace intake.
 * The first run builds both peers from the Go module proxy (minutes); later runs reuse the cache.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { encode } from '@msgpack/msgpack';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupPeers,
  ensurePeer,
  getJaegerTrace,
  PEER_BUILD_TIMEOUT_MS,
  PEER_HOOK_TIMEOUT_MS,
  startDatadogIntake,
  startJaeger,
  type JaegerTraceResponse,
  type RunningDatadogIntake,
  type RunningJaeger,
} from './helpers/peers.js';

afterAll(cleanupPeers);

// Builds (or finds in the cache) both binaries up front, one after the other (2 shared cores).
// As tests rather than hooks, so that a failed build is counted as a failed test.
describe('peer builds (test/peers/build.sh, from the Go module proxy)', () => {
  it.each(['jaeger', 'datadog-agent'] as const)('%s', async (name) => {
    const bin = await ensurePeer(name);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
  }, PEER_BUILD_TIMEOUT_MS);
});

async function poll<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sends one span with the stock OTLP/gRPC exporter; resolves to its trace id (hex). */
async function sendOneSpanOtlpGrpc(url: string, service: string): Promise<{ traceId: string; spanId: string }> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new GrpcExporter({ url }))],
  });
  const span = provider.getTracer('peers-smoke').startSpan('GET /smoke', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'smoke.answer': 42 },
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  span.end();
  await provider.forceFlush();
  await provider.shutdown();
  return { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
}

describe('Jaeger peer (v2 all-in-one, in-memory)', () => {
  let jaeger: RunningJaeger;
  beforeAll(async () => {
    jaeger = await startJaeger();
  }, PEER_HOOK_TIMEOUT_MS);

  it('stores a span sent over OTLP/gRPC and serves it at /api/traces/<id>', async () => {
    const { traceId, spanId } = await sendOneSpanOtlpGrpc(jaeger.otlpGrpcEndpoint, 'peers-smoke-svc');
    const got: JaegerTraceResponse = await poll('the trace in jaeger', () => getJaegerTrace(jaeger.queryUrl, traceId));
    expect(got.data).toHaveLength(1);
    const [t] = got.data;
    expect(t.traceID).toBe(traceId);
    expect(t.spans).toHaveLength(1);
    const [s] = t.spans;
    expect(s.spanID).toBe(spanId);
    expect(s.operationName).toBe('GET /smoke');
    expect(t.processes[s.processID].serviceName).toBe('peers-smoke-svc');
    const tags = Object.fromEntries(s.tags.map((tag) => [tag.key, tag.value]));
    expect(tags).toMatchObject({ 'http.request.method': 'GET', 'smoke.answer': 42, 'span.kind': 'server', error: true, 'otel.status_code': 'ERROR' });

    const services = (await (await fetch(`${jaeger.queryUrl}/api/services`)).json()) as { data: string[] };
    expect(services.data).toContain('peers-smoke-svc');
  });

  it('stops and restarts on the same ports (in-memory storage starts empty again)', async () => {
    const { traceId } = await sendOneSpanOtlpGrpc(jaeger.otlpGrpcEndpoint, 'before-restart');
    await poll('the trace in jaeger', () => getJaegerTrace(jaeger.queryUrl, traceId));

    await jaeger.stop();
    expect(jaeger.running).toBe(false);
    await expect(fetch(`${jaeger.queryUrl}/api/services`)).rejects.toThrow();

    await jaeger.restart();
    expect(jaeger.running).toBe(true);
    expect(await getJaegerTrace(jaeger.queryUrl, traceId)).toBeUndefined();
    const again = await sendOneSpanOtlpGrpc(jaeger.otlpGrpcEndpoint, 'after-restart');
    const got = await poll('the trace after restart', () => getJaegerTrace(jaeger.queryUrl, again.traceId));
    expect(got.data[0].spans[0].operationName).toBe('GET /smoke');
  });
});

describe('Datadog Agent trace intake peer', () => {
  let dd: RunningDatadogIntake;
  beforeAll(async () => {
    dd = await startDatadogIntake();
  }, PEER_HOOK_TIMEOUT_MS);

  it('decodes a msgpack PUT /v0.4/traces payload and writes the spans to its file', async () => {
    // Above 2^53 on purpose: the IDs must survive msgpack -> agent -> JSON untouched.
    const traceId = 0xfedcba9876543210n;
    const rootId = 0x1234567890abcdefn;
    const childId = 0x0fedcba987654321n;
    const start = BigInt(Date.now()) * 1_000_000n;
    const root = {
      trace_id: traceId,
      span_id: rootId,
      parent_id: 0n,
      name: 'express.request',
      resource: 'GET /smoke',
      service: 'dd-smoke-svc',
      type: 'web',
      start,
      duration: 5_000_000n,
      error: 0,
      meta: { 'http.method': 'GET', 'span.kind': 'server', env: 'test' },
      metrics: { _sampling_priority_v1: 1, _dd_top_level: 1, 'smoke.ratio': 0.25 },
    };
    const child = {
      ...root,
      span_id: childId,
      parent_id: rootId,
      name: 'pg.query',
      resource: 'SELECT 1',
      type: 'sql',
      start: start + 1_000_000n,
      duration: 2_000_000n,
      error: 1,
      meta: { 'error.message': 'boom', 'db.system': 'postgresql' },
      metrics: { 'db.row_count': 1 },
    };
    const body = encode([[root, child]], { useBigInt64: true });

    const res = await fetch(`${dd.endpoint}/v0.4/traces`, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/msgpack',
        'X-Datadog-Trace-Count': '1',
        'Datadog-Meta-Lang': 'nodejs',
        'Datadog-Meta-Lang-Version': process.version,
        'Datadog-Meta-Tracer-Version': 'flowtrace-smoke',
      },
      body,
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { rate_by_service?: Record<string, number> };
    expect(answer.rate_by_service).toBeTypeOf('object');

    const spans = await poll('the spans in the intake file', () => {
      const s = dd.readSpans();
      return s.length >= 2 ? s : undefined;
    });
    expect(spans).toHaveLength(2);
    const byName = Object.fromEntries(spans.map((s) => [s.name, s]));
    expect(byName['express.request']).toMatchObject({
      service: 'dd-smoke-svc',
      resource: 'GET /smoke',
      type: 'web',
      traceID: traceId.toString(),
      spanID: rootId.toString(),
      start: start.toString(),
      duration: '5000000',
      meta: { 'http.method': 'GET', env: 'test' },
      metrics: { _sampling_priority_v1: 1, 'smoke.ratio': 0.25 },
    });
    expect(byName['express.request'].parentID).toBeUndefined(); // 0 is omitted
    expect(byName['pg.query']).toMatchObject({
      traceID: traceId.toString(),
      spanID: childId.toString(),
      parentID: rootId.toString(),
      error: 1,
      meta: { 'error.message': 'boom' },
    });

    const [record] = dd.readRecords();
    expect(record).toMatchObject({ kind: 'traces', endpoint: 'v0.4', lang: 'nodejs', tracer_version: 'flowtrace-smoke' });
    expect(dd.readTraces()[0]).toMatchObject({ languageName: 'nodejs', tracerVersion: 'flowtrace-smoke' })
    // The receiver leaves chunk priority unset (-128, PriorityNone); the agent's processing reads _sampling_priority_v1 later.;
  });

  it('answers a malformed payload with an HTTP error and writes nothing for it', async () => {
    const before = dd.readRecords().length;
    const res = await fetch(`${dd.endpoint}/v0.4/traces`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/msgpack' },
      body: new Uint8Array([0xc1, 0x00, 0xff]),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    await res.arrayBuffer();
    expect(dd.readRecords()).toHaveLength(before);
  });
});
