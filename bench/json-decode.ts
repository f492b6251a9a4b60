/**
 * `npm run bench:json`: OTLP/JSON body → spans (decodeJsonBody, what the HTTP receiver runs per
 * request), µs per span, on a realistic SDK request (512 spans,
 * ≈15 attributes) in three forms:
 *  - typical: as the OpenTelemetry JS SDK writes it (times as strings, small ints as numbers);
 *  - oneBigNumber: the same with a single intValue past 2^53 written as a JSON number;
 *  - allBigNumbers: every time and every int written as a JSON number (times are past 2^53).
 * JSON.parse alone on the typical body is the reference. Writes bench/results/json-decode.json.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeJsonBody } from '../collector/src/receivers/otlp/json-decoder.js';

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'orders', 'service.version': '2.3.1', 'host.name': 'host-1', 'process.pid': 1234 }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
const tracer = provider.getTracer('bench', '1.0.0');
for (let t = 0, made = 0; made < 512; t++) {
  const size = Math.min(5 + ((t * 13) % 16), 512 - made);
  const root = tracer.startSpan('GET /api/orders/:id', { kind: SpanKind.SERVER });
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 1; i < size; i++) {
    const span = tracer.startSpan(`OrderService.step${i}`, {
      attributes: {
        'http.request.method': 'GET', 'http.route': '/api/orders/:id', 'url.path': `/api/orders/${t}`, 'http.response.status_code': 200,
        'server.address': 'orders.internal', 'server.port': 8080, 'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
        'code.function.name': `step${i}`, 'code.namespace': 'com.example.orders.OrderService', 'code.line.number': 100 + i,
        'flowtrace.args.0': JSON.stringify({ id: t, expand: ['items'] }), 'db.rows': i * 7, 'elapsed.ms': 12.300000000000011 * i,
        'flowtrace.correlation_id': `req-${t}`, 'cache.hit': i % 2 === 0,
      },
    }, ctx);
    span.addEvent('step done', { 'rows.read': i });
    span.end();
  }
  root.end();
  made += size;
}
const spans = memory.getFinishedSpans();
const typical = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
const oneBigNumber = typical.replace('"intValue":200', '"intValue":9007199254740993');
const allBigNumbers = typical
  .replace(/"(startTimeUnixNano|endTimeUnixNano|timeUnixNano)":"(\d+)"/g, '"$1":$2')
  .replace(/"intValue":(\d+)/g, (_, n: string) => `"intValue":${BigInt(n) + 9007199254740993n}`);
const bodies = { typical, oneBigNumber, allBigNumbers };
const buffers = Object.fromEntries(Object.entries(bodies).map(([name, text]) => [name, Buffer.from(text)])) as Record<keyof typeof bodies, Buffer>;

/** Median µs per span over `rounds` timed runs of `fn` (after a warm-up). */
function perSpan(fn: () => void, rounds = 61): number {
  for (let i = 0; i < 30; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) fn();
    times.push(((performance.now() - t0) * 1000) / (5 * spans.length));
  }
  return +times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!.toFixed(3);
}

const decode = (body: Buffer) => () => decodeJsonBody(body);
const result = {
  benchmark: 'json-decode',
  date: new Date().toISOString(),
  node: process.version,
  spansPerRequest: spans.length,
  bytesPerRequest: Object.fromEntries(Object.entries(buffers).map(([name, b]) => [name, b.length])),
  microsecondsPerSpan: {
    jsonParseOnlyTypical: perSpan(() => JSON.parse(typical)),
    typical: perSpan(decode(buffers.typical)),
    oneBigNumber: perSpan(decode(buffers.oneBigNumber)),
    allBigNumbers: perSpan(decode(buffers.allBigNumbers)),
    // Again, to show the run-to-run noise on this machine.
    typicalAgain: perSpan(decode(buffers.typical)),
  },
};
console.log(JSON.stringify(result, null, 2));
const out = join(resolve(import.meta.dirname), 'results', 'json-decode.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${out}`);
