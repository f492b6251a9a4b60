/**
 * `npm run bench:hot-path`: the collector's per-span CPU on its event loop, piece by piece,
 * on the same realistic request as bench:ingest (512 spans, ≈15 attributes, 5–20 spans per
 * trace): OTLP protobuf decode, OTLP/JSON parse + decode, RowBinary encoding for storage, and
 * OTLP protobuf encode for the OTLP exporters; and the storage path both ways, measured in
 * interleaved rounds: decode + encode RowBinary against the direct protobuf → RowBinary transcoder.
 * Writes bench/results/hot-path.json.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequestJson } from '../collector/src/receivers/otlp/json-decoder.js';
import { decodeTraceRequest } from '../collector/src/receivers/otlp/proto-decoder.js';
import { transcodeTraceRequest } from '../collector/src/receivers/otlp/rowbinary-transcoder.js';
import { encodeRowBinary } from '../exporters/clickhouse/rowbinary.js';
import { encodeTraceRequest } from '../exporters/otlp/encoder.js';

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'orders', 'service.version': '2.3.1', 'deployment.environment': 'bench', 'host.name': 'host-1', 'process.pid': 1234 }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
const tracer = provider.getTracer('bench', '1.0.0');
for (let t = 0, made = 0; made < 512; t++) {
  const size = Math.min(5 + ((t * 13) % 16), 512 - made);
  const root = tracer.startSpan('GET /api/orders/:id', { kind: SpanKind.SERVER });
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 1; i < size; i++) {
    tracer
      .startSpan(`OrderService.step${i}`, {
        attributes: {
          'http.request.method': 'GET', 'http.route': '/api/orders/:id', 'url.path': `/api/orders/${t}`, 'http.response.status_code': 200,
          'server.address': 'orders.internal', 'server.port': 8080, 'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
          'network.protocol.version': '1.1', 'code.function.name': `step${i}`, 'code.namespace': 'com.example.orders.OrderService',
          'code.line.number': 100 + i, 'flowtrace.args.0': JSON.stringify({ id: t, expand: ['items'] }), 'flowtrace.return': `{"items":${i}}`,
          'flowtrace.correlation_id': `req-${t}`, 'cache.hit': i % 2 === 0,
        },
      }, ctx)
      .end();
  }
  root.end();
  made += size;
}
const spans = memory.getFinishedSpans();
const proto = ProtobufTraceSerializer.serializeRequest(spans)!;
const json = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
const decoded = decodeTraceRequest(proto).spans;

/** Median µs per span over `rounds` timed runs of `fn` (after a warm-up). */
function perSpan(fn: () => void, rounds = 41): number {
  for (let i = 0; i < 20; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) fn();
    times.push(((performance.now() - t0) * 1000) / (5 * spans.length));
  }
  return +times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!.toFixed(2);
}

/**
 * Median µs per span of each of `fns`, timed in alternating rounds so that a shared machine's
 * changing load hits them alike (after a warm-up of each).
 */
function interleaved<K extends string>(fns: Record<K, () => void>, rounds = 41): Record<K, number> {
  const names = Object.keys(fns) as K[];
  for (const name of names) for (let i = 0; i < 20; i++) fns[name]();
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) fns[name]();
      times[name].push(((performance.now() - t0) * 1000) / (5 * spans.length));
    }
  }
  return Object.fromEntries(names.map((n) => [n, +times[n].sort((a, b) => a - b)[Math.floor(rounds / 2)]!.toFixed(2)])) as Record<K, number>;
}

// The transcoder must give exactly the rows decode + encode gives, or its figure means nothing.
if (!transcodeTraceRequest(proto).rowBinary.equals(encodeRowBinary(decoded))) throw new Error('transcoder output differs from decode + encode');
const storagePath = interleaved({
  decodeAndEncodeRowBinary: () => encodeRowBinary(decodeTraceRequest(proto).spans),
  transcodeToRowBinary: () => transcodeTraceRequest(proto),
});

const result = {
  benchmark: 'hot-path',
  date: new Date().toISOString(),
  node: process.version,
  spansPerRequest: spans.length,
  protobufBytesPerSpan: Math.round(proto.length / spans.length),
  microsecondsPerSpan: {
    decodeProtobuf: perSpan(() => decodeTraceRequest(proto)),
    jsonParse: perSpan(() => JSON.parse(json)),
    jsonParseAndDecode: perSpan(() => decodeTraceRequestJson(JSON.parse(json))),
    encodeRowBinary: perSpan(() => encodeRowBinary(decoded)),
    encodeOtlpProtobuf: perSpan(() => encodeTraceRequest(decoded)),
  },
  /** Protobuf → RowBinary: the same request, interleaved rounds, medians (µs per span). */
  storagePath: { ...storagePath, ratio: +(storagePath.transcodeToRowBinary / storagePath.decodeAndEncodeRowBinary).toFixed(2) },
};
console.log(JSON.stringify(result, null, 2));
const out = join(resolve(import.meta.dirname), 'results', 'hot-path.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${out}`);
