/**
 * The jaeger exporter against a real Jaeger v2 (test/helpers/peers.ts builds and starts it):
 * spans recorded by the official SDK go through our decoder and our encoder, then to Jaeger
 * over OTLP/gRPC and OTLP/HTTP, with and without gzip, and are read back from Jaeger's query
 * API, `/api/traces/<traceId>`.
 */
import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../collector/src/model/span.js';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { cleanupPeers, getJaegerTrace, PEER_HOOK_TIMEOUT_MS, startJaeger, type JaegerTraceResponse, type RunningJaeger } from '../../test/helpers/peers.js';
import type { OtlpExporter } from '../otlp/exporter.js';
import { jaegerConfigSchema, jaegerExporterFactory } from './index.js';

afterAll(cleanupPeers);

type JaegerKeyValue = { key: string; type: string; value: unknown };
type JaegerSpan = JaegerTraceResponse['data'][number]['spans'][number] & {
  logs: Array<{ timestamp: number; fields: JaegerKeyValue[] }>;
  warnings: string[] | null;
};

const LINKED = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };

/** A small trace by the official SDK: frontend (server span, then a client span) → backend (server span that fails). */
async function sdkTrace(tag: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = (service: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.2.3', 'host.cpus': 8 }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
  const frontend = provider(`frontend-${tag}`);
  const backend = provider(`backend-${tag}`);

  const root = frontend.getTracer('web', '2.0.0').startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'cart.total': 99.5,
      'user.premium': true,
      'cart.items': ['book', 'pen'],
      'cart.quantities': [1, 3],
    },
    links: [{ context: LINKED, attributes: { 'link.reason': 'batch' } }],
  });
  root.addEvent('cache.miss', { 'cache.key': 'cart:42', 'cache.attempt': 2 });
  const client = frontend
    .getTracer('web', '2.0.0')
    .startSpan('POST /charge', { kind: SpanKind.CLIENT, attributes: { 'peer.service': 'backend' } }, trace.setSpan(context.active(), root));
  const server = backend
    .getTracer('payments', '0.1.0')
    .startSpan('charge', { kind: SpanKind.SERVER, attributes: { 'payment.amount': 99.5, 'payment.retries': 0 } }, trace.setSpan(context.active(), client));
  server.recordException(new Error('card declined'));
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  server.end();
  client.end();
  root.end();
  await frontend.forceFlush();
  await backend.forceFlush();
  return memory.getFinishedSpans();
}

/** What the collector holds after receiving the SDK's request: our decoder's span model. */
function received(spans: ReadableSpan[]): Span[] {
  return decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!).spans;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The trace once Jaeger has all `count` spans of it. */
function jaegerTrace(jaeger: RunningJaeger, traceId: string, count: number): Promise<JaegerTraceResponse['data'][number]> {
  return poll(`${count} spans of trace ${traceId} in Jaeger`, async () => {
    const got = await getJaegerTrace(jaeger.queryUrl, traceId);
    const t = got?.data?.[0];
    return t !== undefined && t.spans.length === count ? t : undefined;
  });
}

function tagsOf(kvs: JaegerKeyValue[]): Record<string, { type: string; value: unknown }> {
  return Object.fromEntries(kvs.map((kv) => [kv.key, { type: kv.type, value: kv.value }]));
}

describe('jaeger exporter → a real Jaeger v2', () => {
  let jaeger: RunningJaeger;
  const exporters: OtlpExporter[] = [];
  beforeAll(async () => {
    jaeger = await startJaeger();
  }, PEER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(exporters.map((e) => e.shutdown()));
  });

  const cases = [
    { protocol: 'grpc', compression: 'none' },
    { protocol: 'grpc', compression: 'gzip' },
    { protocol: 'http/protobuf', compression: 'none' },
    { protocol: 'http/protobuf', compression: 'gzip' },
  ] as const;

  it.each(cases)('stores what it gets over $protocol (compression: $compression): IDs, parents, names, services, typed tags, logs, links, errors', async ({ protocol, compression }) => {
    const tag = `${protocol.replace('/', '-')}-${compression}`;
    const sdkSpans = await sdkTrace(tag);
    const spans = received(sdkSpans);
    expect(spans).toHaveLength(3);
    // Kinds the SDK's API cannot record, added to the span model as a receiver would have decoded them.
    const rootModel = spans.find((s) => s.name === 'GET /checkout')!;
    Object.assign(rootModel.attributes, { 'payload.digest': 'AAEC+v8=', 'cart.owner': '{"id":42,"vip":true}', 'cart.note': '' });
    Object.assign(rootModel.attributeKinds!, { 'payload.digest': 'bytes', 'cart.owner': 'kvlist', 'cart.note': 'empty' });

    const endpoint = protocol === 'grpc' ? jaeger.otlpGrpcEndpoint : jaeger.otlpHttpEndpoint;
    const exporter = jaegerExporterFactory.create(`jaeger/${tag}`, jaegerConfigSchema.parse({ protocol, endpoint, compression }), { logger: pino({ level: 'silent' }) });
    exporters.push(exporter);
    await exporter.start();
    // One span per record, as the queue would hold three requests: the payload is their concatenation.
    const payload = Buffer.concat(spans.map((s) => exporter.encode([s])));
    await exporter.send(payload, spans.length, `batch-${tag}`);

    const traceId = spans[0].traceId;
    const got = await jaegerTrace(jaeger, traceId, 3);
    expect(got.traceID).toBe(traceId);
    const byName = new Map(got.spans.map((s) => [s.operationName, s as JaegerSpan]));
    expect([...byName.keys()].sort()).toEqual(['GET /checkout', 'POST /charge', 'charge']);
    const [root, client, server] = ['GET /checkout', 'POST /charge', 'charge'].map((name) => byName.get(name)!);
    const sdk = (name: string) => sdkSpans.find((s) => s.name === name)!.spanContext();

    // IDs and parent references.
    expect(root.spanID).toBe(sdk('GET /checkout').spanId);
    expect(client.spanID).toBe(sdk('POST /charge').spanId);
    expect(server.spanID).toBe(sdk('charge').spanId);
    expect(client.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: root.spanID }]);
    expect(server.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: client.spanID }]);
    // The link is a FOLLOWS_FROM reference to another trace.
    expect(root.references).toEqual([{ refType: 'FOLLOWS_FROM', traceID: LINKED.traceId, spanID: LINKED.spanId }]);

    // Services (resources) and their typed tags.
    const service = (s: JaegerSpan) => got.processes[s.processID];
    expect(service(root).serviceName).toBe(`frontend-${tag}`);
    expect(service(client).serviceName).toBe(`frontend-${tag}`);
    expect(service(server).serviceName).toBe(`backend-${tag}`);
    expect(tagsOf(service(root).tags)).toMatchObject({ 'service.version': { type: 'string', value: '1.2.3' }, 'host.cpus': { type: 'int64', value: 8 } });

    // Span tags keep their OTLP types: bool, int64, float64, string; arrays become JSON strings.
    expect(tagsOf(root.tags)).toMatchObject({
      'http.request.method': { type: 'string', value: 'GET' },
      'http.response.status_code': { type: 'int64', value: 200 },
      'cart.total': { type: 'float64', value: 99.5 },
      'user.premium': { type: 'bool', value: true },
      'cart.items': { type: 'string', value: '["book","pen"]' },
      'cart.quantities': { type: 'string', value: '[1,3]' },
      'payload.digest': { type: 'binary', value: 'AAEC+v8=' },
      'cart.owner': { type: 'string', value: '{"id":42,"vip":true}' },
      'span.kind': { type: 'string', value: 'server' },
      'otel.scope.name': { type: 'string', value: 'web' },
      'otel.scope.version': { type: 'string', value: '2.0.0' },
    });
    expect(tagsOf(server.tags)).toMatchObject({
      'payment.amount': { type: 'float64', value: 99.5 },
      'payment.retries': { type: 'int64', value: 0 },
      'span.kind': { type: 'string', value: 'server' },
      error: { type: 'bool', value: true },
      'otel.status_code': { type: 'string', value: 'ERROR' },
      'otel.status_description': { type: 'string', value: 'card declined' },
    });
    expect(tagsOf(client.tags)).toMatchObject({ 'span.kind': { type: 'string', value: 'client' } });
    expect(tagsOf(root.tags).error).toBeUndefined();

    // Events are logs, with the event name and typed fields, at the event's time (µs).
    expect(root.logs).toHaveLength(1);
    const [event] = rootModel.events;
    expect(root.logs[0].timestamp).toBe(Number(event.timeUnixNano / 1000n));
    expect(tagsOf(root.logs[0].fields)).toMatchObject({
      event: { type: 'string', value: 'cache.miss' },
      'cache.key': { type: 'string', value: 'cart:42' },
      'cache.attempt': { type: 'int64', value: 2 },
    });
    expect(tagsOf(server.logs[0].fields)).toMatchObject({
      event: { type: 'string', value: 'exception' },
      'exception.message': { type: 'string', value: 'card declined' },
    });

    // Times: Jaeger keeps microseconds.
    expect(root.startTime).toBe(Number(rootModel.startTimeUnixNano / 1000n));
    expect(root.duration).toBe(Number((rootModel.endTimeUnixNano - rootModel.startTimeUnixNano) / 1000n));
  });

  it('fails with a retryable error while Jaeger is down, and delivers after it is back', async () => {
    const exporter = jaegerExporterFactory.create('jaeger/restart', jaegerConfigSchema.parse({ endpoint: jaeger.otlpGrpcEndpoint, timeout_ms: 2000 }), {
      logger: pino({ level: 'silent' }),
    });
    exporters.push(exporter);
    await exporter.start();
    const spans = received(await sdkTrace('restart'));
    const payload = Buffer.from(exporter.encode(spans));

    await jaeger.stop();
    const err = await exporter.send(payload, 3, 'batch-restart').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ExportError', retryable: true });

    await jaeger.restart();
    // The channel reconnects with backoff: the queue would retry; so does this loop.
    await poll('a successful send after the restart', () => exporter.send(payload, 3, 'batch-restart').then(() => true, () => undefined));
    const got = await jaegerTrace(jaeger, spans[0].traceId, 3);
    expect(got.spans.map((s) => s.operationName).sort()).toEqual(['GET /checkout', 'POST /charge', 'charge']);
  });
});
