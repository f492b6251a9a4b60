/**
 * `npm run bench:stall`: how long a large valid OTLP request blocks the collector's event loop.
 *
 * Starts `flowtrace serve` (the compiled dist/) as a child process, builds one ~10 MB OTLP
 * protobuf request (thousands of spans with realistic attributes over many resources), and
 * while it is sent — over OTLP/HTTP and over OTLP/gRPC, several times each — polls
 * `GET /healthz` back to back on the API port. The worst `/healthz` latency is the event loop
 * stall a client of the collector sees (goal: < 100 ms). Two windows per send: while the
 * request is received, decoded and handed to the pipeline (until it is acknowledged), and
 * the following seconds, when the batch is written to storage.
 * Prints the figures and writes bench/results/stall.json.
 *
 * Flags: --mb N (request size, default 10), --rounds N (sends per transport, default 3).
 * BENCH_COLLECTOR_NODE_ARGS passes Node options to the collector (e.g. `--cpu-prof`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { cleanup, sql, startCollector, waitFor } from '../test/helpers/collector.js';
import { grpcExport } from '../test/helpers/grpc.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
const TARGET_BYTES = Number(values.mb) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
/** After the acknowledgement, how long the storage write is watched. */
const AFTER_MS = 3000;
const RESULTS = join(resolve(import.meta.dirname), 'results', 'stall.json');

function spansOf(service: string, count: number, seed: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '2.3.1', 'host.name': `host-${seed}`, 'deployment.environment.name': 'bench' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('stall-bench', '1.0.0');
  for (let t = 0; t < count / 10; t++) {
    const root = tracer.startSpan(`GET /api/orders/${t % 50}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.path': `/api/orders/${t}`, 'http.response.status_code': 200 } });
    const ctx = trace.setSpan(context.active(), root);
    for (let i = 1; i < 10; i++) {
      tracer
        .startSpan(`SELECT orders ${i}`, {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'postgresql',
            'db.query.text': `SELECT id, customer_id, total, status FROM orders WHERE customer_id = $1 AND created_at > $2 LIMIT ${i * 10}`,
            'server.address': 'db.internal',
            'server.port': 5432,
            'code.function.name': `OrderRepository.find${i}`,
            'app.customer.id': `customer-${(seed * 1000 + t) % 9973}`,
            'app.request.id': `${seed}-${t}-${i}`,
          },
        }, ctx)
        .end();
    }
    root.end();
  }
  const spans = memory.getFinishedSpans();
  void provider.shutdown();
  return spans;
}

/** One request of about TARGET_BYTES, over many resources (services). */
function bigRequest(): { body: Buffer; spans: number } {
  const spans: ReadableSpan[] = [];
  let body = Buffer.alloc(0);
  for (let seed = 0; body.length < TARGET_BYTES; seed++) {
    spans.push(...spansOf(`service-${seed % 40}`, 500, seed));
    if (seed % 10 === 9) body = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  }
  return { body, spans: spans.length };
}

/** Polls /healthz back to back; `worst(from, to)` is the longest latency of the probes that overlapped the window. */
class HealthProbe {
  private readonly samples: Array<{ start: number; end: number }> = [];
  private running = true;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly done: Promise<void>;

  constructor(private readonly url: string) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const start = performance.now();
      await new Promise<void>((ok, fail) => {
        request(`${this.url}/healthz`, { agent: this.agent }, (res) => {
          res.resume();
          res.on('end', ok);
        })
          .on('error', fail)
          .end();
      });
      this.samples.push({ start, end: performance.now() });
    }
  }

  worst(from: number, to: number): number {
    let worst = 0;
    for (const s of this.samples) if (s.end >= from && s.start <= to) worst = Math.max(worst, s.end - s.start);
    return worst;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }
}

function postHttp(url: string, body: Buffer): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end(body);
  });
}

const round1 = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const { body, spans } = bigRequest();
  console.log(`request: ${(body.length / 1024 / 1024).toFixed(1)} MB, ${spans} spans`);
  const collector = await startCollector({ nodeArgs: process.env.BENCH_COLLECTOR_NODE_ARGS?.split(' ').filter(Boolean), config: 'receivers:\n  otlp:\n    grpc:\n      max_recv_msg_size_mib: 32\n    http:\n      max_request_body_size_mib: 32\n' });
  const probe = new HealthProbe(collector.apiUrl);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const baselineFrom = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const baseline = probe.worst(baselineFrom, performance.now());
    const runs: Array<{ transport: string; acknowledgeMs: number; worstDuringRequestMs: number; worstAfterMs: number }> = [];
    let acknowledged = 0;
    for (const transport of ['http', 'grpc'] as const) {
      for (let i = 0; i < ROUNDS; i++) {
        const start = performance.now();
        if (transport === 'http') {
          const status = await postHttp(collector.httpEndpoint, body);
          if (status !== 200) throw new Error(`OTLP/HTTP answered ${status}`);
        } else {
          const outcome = await grpcExport(collector.grpcEndpoint, body);
          if (outcome.error) throw new Error(`OTLP/gRPC answered ${outcome.error.code}: ${outcome.error.details}`);
        }
        acknowledged += spans;
        const acked = performance.now();
        await new Promise((r) => setTimeout(r, AFTER_MS));
        const run = { transport, acknowledgeMs: round1(acked - start), worstDuringRequestMs: round1(probe.worst(start, acked)), worstAfterMs: round1(probe.worst(acked, performance.now())) };
        runs.push(run);
        console.log(`${transport} #${i + 1}: acknowledged in ${run.acknowledgeMs} ms; worst /healthz latency ${run.worstDuringRequestMs} ms during the request, ${run.worstAfterMs} ms in the ${AFTER_MS / 1000} s after`);
      }
    }
    await probe.stop();
    const stored = await waitFor(async () => {
      const [row] = await sql<{ n: string }>(collector.apiUrl, 'SELECT count() AS n FROM otel_traces');
      return Number(row.n) >= acknowledged ? Number(row.n) : undefined;
    }, 'every acknowledged span stored', 120_000);
    const worst = Math.max(...runs.map((r) => Math.max(r.worstDuringRequestMs, r.worstAfterMs)));
    const result = {
      requestBytes: body.length,
      spansPerRequest: spans,
      baselineWorstHealthzMs: round1(baseline),
      worstHealthzMs: worst,
      goalMs: 100,
      runs,
      spansAcknowledged: acknowledged,
      spansStored: stored,
      node: process.version,
      date: new Date().toISOString(),
    };
    console.log(`worst /healthz latency with a ${(body.length / 1024 / 1024).toFixed(1)} MB request: ${worst} ms (baseline ${result.baselineWorstHealthzMs} ms, goal < 100 ms); ${stored} of ${acknowledged} acknowledged spans stored`);
    mkdirSync(join(resolve(import.meta.dirname), 'results'), { recursive: true });
    writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await probe.stop().catch(() => undefined);
    await collector.stop();
    await cleanup();
  }
}

await main();
