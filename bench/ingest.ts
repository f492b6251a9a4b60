/**
 * `npm run bench:ingest`: end-to-end ingest throughput into the embedded store.
 *
 * Starts `flowtrace serve` as a child process, then several concurrent OTLP clients (gRPC and
 * HTTP/protobuf) send realistic requests (≈15 attributes per span, 5–20 spans per trace,
 * 512 spans per request like the SDK's batch processor) for a fixed time. Reports spans/s
 * accepted and stored, client export latency p50/p99, storage insert latency p50/p99 (from
 * the collector's histogram) and the collector's peak RSS; writes them to bench/results/ingest.json.
 *
 * Flags: --seconds N (default 20), --grpc-clients N (3), --http-clients N (3),
 * --processors default|no-journal|none (the default processor chain; the same without the
 * write-ahead journal, to measure what it costs; or storage alone. Results go to ingest.json,
 * ingest-no-journal.json and ingest-no-processors.json).
 * BENCH_COLLECTOR_NODE_ARGS passes Node options to the collector (e.g. `--cpu-prof`).
 */
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { cleanup, sql, startCollector } from '../test/helpers/collector.js';
import { cpuSeconds, peakRssMiB } from './process-stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    'grpc-clients': { type: 'string', default: '3' },
    'http-clients': { type: 'string', default: '3' },
    processors: { type: 'string', default: 'default' },
  },
});
const CHAINS = {
  default: { config: undefined, results: 'ingest.json' },
  'no-journal': { config: 'pipeline:\n  journal:\n    enabled: false\n', results: 'ingest-no-journal.json' },
  none: { config: 'pipeline:\n  processors: []\n', results: 'ingest-no-processors.json' },
} as const;
if (!Object.hasOwn(CHAINS, values.processors)) {
  console.error(`--processors: expected one of ${Object.keys(CHAINS).join(', ')}, got ${JSON.stringify(values.processors)}`);
  process.exit(2);
}
const CHAIN = CHAINS[values.processors as keyof typeof CHAINS];
const SECONDS = Number(values.seconds);
const GRPC_CLIENTS = Number(values['grpc-clients']);
const HTTP_CLIENTS = Number(values['http-clients']);
const SPANS_PER_REQUEST = 512;
const DISTINCT_REQUESTS = 16;

/** A request whose trace IDs can be rewritten in place, so that every send carries new traces. */
interface Payload {
  bytes: Buffer;
  spans: number;
  traceIdOffsets: number[];
}

function makeSpans(service: string, seed: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '2.3.1', 'deployment.environment': 'bench', 'host.name': `host-${seed % 7}`, 'process.pid': 1000 + seed }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('bench', '1.0.0');
  let made = 0;
  let traceNo = 0;
  while (made < SPANS_PER_REQUEST) {
    const size = Math.min(5 + ((seed * 7 + traceNo++ * 13) % 16), SPANS_PER_REQUEST - made); // 5–20 spans per trace
    const root = tracer.startSpan('GET /api/orders/:id', { kind: SpanKind.SERVER, attributes: attrs(0, seed) });
    const ctx = trace.setSpan(context.active(), root);
    for (let i = 1; i < size; i++) {
      const kind = i % 4 === 0 ? SpanKind.CLIENT : SpanKind.INTERNAL;
      tracer.startSpan(i % 4 === 0 ? 'SELECT orders' : `OrderService.step${i}`, { kind, attributes: attrs(i, seed) }, ctx).end();
    }
    root.end();
    made += size;
  }
  const spans = memory.getFinishedSpans();
  void provider.shutdown();
  return spans;
}

/** ≈15 attributes of the kinds real services send. */
function attrs(i: number, seed: number): Record<string, string | number | boolean> {
  return {
    'http.request.method': 'GET',
    'http.route': '/api/orders/:id',
    'url.path': `/api/orders/${seed * 1000 + i}`,
    'http.response.status_code': i % 9 === 0 ? 500 : 200,
    'server.address': 'orders.internal',
    'server.port': 8080,
    'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
    'network.protocol.version': '1.1',
    'code.function.name': `step${i}`,
    'code.namespace': 'com.example.orders.OrderService',
    'code.line.number': 100 + i,
    'flowtrace.args.0': JSON.stringify({ id: seed * 1000 + i, expand: ['items', 'customer'] }),
    'flowtrace.return': `{"status":"ok","items":${i}}`,
    'flowtrace.correlation_id': `req-${seed}-${i}`,
    'cache.hit': i % 2 === 0,
  };
}

function payload(spans: ReadableSpan[]): Payload {
  const bytes = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  const offsets: number[] = [];
  for (const id of new Set(spans.map((s) => s.spanContext().traceId))) {
    const raw = Buffer.from(id, 'hex');
    for (let at = bytes.indexOf(raw); at !== -1; at = bytes.indexOf(raw, at + 1)) offsets.push(at);
  }
  return { bytes, spans: spans.length, traceIdOffsets: offsets };
}

let sendNo = 0;
/** New trace IDs for this send: the counter goes into the IDs' first four bytes. */
function stamp(p: Payload): Buffer {
  const n = ++sendNo;
  for (const at of p.traceIdOffsets) p.bytes.writeUInt32BE(n, at);
  return p.bytes;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** p-quantile from a Prometheus histogram's cumulative buckets (upper bound of the bucket). */
function histogramQuantile(metrics: string, name: string, q: number): number {
  const buckets = [...metrics.matchAll(new RegExp(`${name}_bucket\\{le="([^"]+)",exporter="clickhouse"\\} (\\d+)`, 'g'))].map((m) => [Number(m[1]), Number(m[2])] as const);
  const total = buckets.at(-1)?.[1] ?? 0;
  return buckets.find(([, count]) => count >= q * total)?.[0] ?? NaN;
}

async function main(): Promise<void> {
  console.log(`preparing ${DISTINCT_REQUESTS} distinct requests of ${SPANS_PER_REQUEST} spans…`);
  const payloads = Array.from({ length: DISTINCT_REQUESTS }, (_, i) => payload(makeSpans(`bench-svc-${i % 4}`, i)));
  // BENCH_COLLECTOR_NODE_ARGS profiles the collector under load, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const collector = await startCollector({
    nodeArgs: process.env.BENCH_COLLECTOR_NODE_ARGS?.split(' ').filter(Boolean),
    config: CHAIN.config,
  });
  const pid = Number(/"pid":(\d+)/.exec(collector.logs.find((l) => l.includes('"collector ready"')) ?? '')?.[1]);
  console.log(`collector up (pid ${pid}); sending for ${SECONDS} s from ${GRPC_CLIENTS} gRPC + ${HTTP_CLIENTS} HTTP clients`);

  let accepted = 0;
  let refused = 0;
  const latencies: number[] = [];
  const stopAt = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const cpuAtStart = cpuSeconds(pid);
  let next = 0;
  const pick = () => payloads[next++ % payloads.length]!;

  const grpcClient = async () => {
    const client = new Client(collector.grpcEndpoint.replace('http://', ''), credentials.createInsecure());
    while (performance.now() < stopAt) {
      const p = pick();
      const t0 = performance.now();
      const err = await new Promise<{ code: number } | null>((res) =>
        client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, stamp(p), new Metadata(), (e) => res(e)),
      );
      latencies.push(performance.now() - t0);
      if (!err) accepted += p.spans;
      else if (err.code === status.RESOURCE_EXHAUSTED) {
        refused += p.spans;
        await new Promise((r) => setTimeout(r, 100));
      } else throw new Error(`gRPC export failed: ${JSON.stringify(err)}`);
    }
    client.close();
  };
  // node:http with keep-alive rather than fetch: the generator shares the machine's two cores.
  const agent = new Agent({ keepAlive: true });
  const post = (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${collector.httpEndpoint}/v1/traces`, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  const httpClient = async () => {
    while (performance.now() < stopAt) {
      const p = pick();
      const t0 = performance.now();
      const code = await post(stamp(p));
      latencies.push(performance.now() - t0);
      if (code === 200) accepted += p.spans;
      else if (code === 429) {
        refused += p.spans;
        await new Promise((r) => setTimeout(r, 100));
      } else throw new Error(`HTTP export failed: ${code}`);
    }
  };
  await Promise.all([...Array.from({ length: GRPC_CLIENTS }, grpcClient), ...Array.from({ length: HTTP_CLIENTS }, httpClient)]);
  const sendSeconds = (performance.now() - started) / 1000;

  // Stored: wait until every accepted span is in ClickHouse.
  let stored = 0;
  while (stored < accepted) {
    stored = Number((await sql<{ n: string }>(collector.apiUrl, 'SELECT count() AS n FROM otel_traces'))[0]!.n);
    if (stored < accepted) await new Promise((r) => setTimeout(r, 200));
  }
  const storeSeconds = (performance.now() - started) / 1000;
  const collectorCpu = cpuSeconds(pid) - cpuAtStart;
  const metrics = await (await fetch(`${collector.apiUrl}/metrics`)).text();
  const rss = peakRssMiB(pid);
  await collector.stop();
  await cleanup();

  latencies.sort((a, b) => a - b);
  const result = {
    benchmark: 'ingest',
    date: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    settings: { seconds: SECONDS, grpcClients: GRPC_CLIENTS, httpClients: HTTP_CLIENTS, spansPerRequest: SPANS_PER_REQUEST, attributesPerSpan: 15, store: 'embedded (chdb)', processors: values.processors },
    spansAccepted: accepted,
    spansRefused: refused,
    spansStored: stored,
    acceptedSpansPerSecond: Math.round(accepted / sendSeconds),
    storedSpansPerSecond: Math.round(stored / storeSeconds),
    exportLatencyMs: { p50: +quantile(latencies, 0.5).toFixed(1), p99: +quantile(latencies, 0.99).toFixed(1) },
    storageInsertLatencyS: {
      p50: histogramQuantile(metrics, 'flowtrace_exporter_send_duration_seconds', 0.5),
      p99: histogramQuantile(metrics, 'flowtrace_exporter_send_duration_seconds', 0.99),
    },
    collectorPeakRssMiB: Math.round(rss),
    // The collector's own CPU (every thread, ClickHouse's included) per span stored: the
    // per-core efficiency, independent of the load generator sharing the machine.
    collectorCpuMicrosecondsPerSpan: +((collectorCpu / stored) * 1e6).toFixed(1),
    spansPerCollectorCoreSecond: Math.round(stored / collectorCpu),
  };
  console.log(JSON.stringify(result, null, 2));
  const out = join(resolve(import.meta.dirname), 'results', CHAIN.results);
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${out}`);
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
