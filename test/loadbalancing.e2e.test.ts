import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { startDnsServer, type TestDnsServer } from './helpers/dns-server.js';
import { freePort } from './helpers/peers.js';
import { rawProtobuf } from './helpers/raw-otlp.js';

/**
 * Issue 18, scale-out without Kafka: a front collector's `loadbalancing` exporter routes spans by
 * trace ID over backend collectors, so that each backend holds whole traces. Real collectors
 * (dist/, built by `npx tsc -p tsconfig.build.json`), spans of one trace in separate requests.
 */
const SPANS_PER_TRACE = 6;

/** DNS gives addresses, not ports: each backend on its own loopback address, all on one port. */
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
let dns: TestDnsServer | undefined;
let port: number;
/** Backend collectors, one per address (shared by the tests, which tell their spans apart by service). */
let backends: RunningCollector[];
beforeAll(async () => {
  dns = await startDnsServer();
  port = await freePort();
  backends = await Promise.all(ADDRESSES.map((a) => startCollector({ args: ['--otlp-grpc', `${a}:${port}`] })));
});
afterAll(async () => {
  await Promise.all((backends ?? []).map((b) => b.stop()));
  await cleanup();
  await dns?.close();
});

/** Sends one span of a trace as its own OTLP/HTTP request; retries what the front refuses for now (429/503). */
async function sendSpan(front: RunningCollector, service: string, traceId: string, index: number): Promise<void> {
  const start = BigInt(Date.now()) * 1_000_000n;
  const body = rawProtobuf(service, [{ traceId, spanId: randomBytes(8).toString('hex'), name: `op-${index}`, start, end: start + 1_000_000n }]);
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${front.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
    await res.arrayBuffer();
    if (res.ok) return;
    if ((res.status !== 429 && res.status !== 503) || attempt >= 50) throw new Error(`front answered ${res.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Per backend: the (trace ID, span ID) of every stored span of `service`. */
async function storedBy(backends: RunningCollector[], service: string): Promise<Array<Array<{ TraceId: string; SpanId: string }>>> {
  return Promise.all(backends.map((b) => sql<{ TraceId: string; SpanId: string }>(b.apiUrl, `SELECT TraceId, SpanId FROM otel_traces WHERE ServiceName = '${service}'`)));
}

interface Outcome {
  /** Spans stored over all backends, and distinct (trace, span) among them. */
  spans: number;
  distinct: number;
  traces: number;
  /** Traces whose spans are in more than one backend. */
  split: number;
  /** Traces per backend. */
  perBackend: number[];
}

/** Waits (bounded) until the backends hold `expectedSpans` spans of `service`, then tallies them. */
async function outcome(backends: RunningCollector[], service: string, expectedSpans: number, timeoutMs = 45_000): Promise<Outcome> {
  const perBackend = await waitFor(
    async () => {
      const found = await storedBy(backends, service);
      return found.reduce((sum, rows) => sum + rows.length, 0) >= expectedSpans ? found : undefined;
    },
    `${expectedSpans} spans of ${service} in the backends`,
    timeoutMs,
  );
  const backendsOf = new Map<string, Set<number>>();
  const spanIds = new Set<string>();
  perBackend.forEach((rows, backend) => {
    for (const row of rows) {
      spanIds.add(`${row.TraceId}/${row.SpanId}`);
      const set = backendsOf.get(row.TraceId) ?? new Set<number>();
      set.add(backend);
      backendsOf.set(row.TraceId, set);
    }
  });
  return {
    spans: perBackend.reduce((sum, rows) => sum + rows.length, 0),
    distinct: spanIds.size,
    traces: backendsOf.size,
    split: [...backendsOf.values()].filter((set) => set.size > 1).length,
    perBackend: perBackend.map((rows) => new Set(rows.map((r) => r.TraceId)).size),
  };
}

/** Runs `task` over `items` with `concurrency` workers. */
async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/**
 * The fronts are `ingest` collectors: redaction only, nothing that holds traces (stitch and sample
 * wait for a trace's spans and emit it whole, which would hide splits), no storage. Each span
 * reaches the loadbalancing exporter as it came, the hard case. The backends keep the defaults.
 */
const FRONT = ['--role', 'ingest'];

const frontQueues = `    queue:
      batch: { timeout_ms: 200 }
      retry: { initial_interval_ms: 100, max_interval_ms: 1000 }
    backend_queue:
      batch: { timeout_ms: 200 }
      retry: { initial_interval_ms: 100, max_interval_ms: 1000 }`;

describe('loadbalancing exporter across real collectors', () => {
  it('keeps every trace whole on one of three backends (static list, 300 traces × 6 spans, each span its own request)', async () => {
    const started = Date.now();
    const three = backends.slice(0, 3);
    const hostnames = three.map((b) => b.grpcEndpoint.replace('http://', ''));
    const front = await startCollector({
      args: FRONT,
      config: `
exporters:
  loadbalancing:
    protocol:
      otlp: { protocol: grpc, tls: { insecure: true } }
    resolver:
      static: { hostnames: [${hostnames.join(', ')}] }
${frontQueues}
`,
    });
    const traceIds = Array.from({ length: 300 }, () => randomBytes(16).toString('hex'));
    // Every span its own request, traces interleaved: span i of every trace, then span i+1.
    const requests = Array.from({ length: SPANS_PER_TRACE }, (_, i) => traceIds.map((id) => ({ id, i }))).flat();
    await pool(requests, 16, ({ id, i }) => sendSpan(front, 'lb-static', id, i));

    const sentAfter = Date.now() - started;
    const result = await outcome(three, 'lb-static', traceIds.length * SPANS_PER_TRACE);
    console.log(`[loadbalancing e2e] static: ${JSON.stringify(result)}; sent in ${(sentAfter / 1000).toFixed(1)} s, all stored after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(result.spans).toBe(traceIds.length * SPANS_PER_TRACE);
    expect(result.distinct).toBe(result.spans); // no span twice
    expect(result.traces).toBe(traceIds.length);
    expect(result.split).toBe(0);
    for (const n of result.perBackend) expect(n).toBeGreaterThan(50); // about 100 each
    const metrics = await (await fetch(`${front.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/flowtrace_loadbalancer_backends\{exporter="loadbalancing"\} 3/);
    expect(metrics).toMatch(new RegExp(`flowtrace_loadbalancer_spans_routed_total\\{exporter="loadbalancing",backend="${hostnames[0]}"\\} [1-9]`));
    await front.stop();
  }, 120_000);

  it('measures split traces when DNS adds a 4th backend and then removes one under load, with and without handover', async () => {
    const NAME = 'backends.flowtrace.test';
    const addresses = ADDRESSES;
    dns!.records.set(NAME, addresses.slice(0, 3));
    const frontConfig = (handover: number) => `
exporters:
  loadbalancing:
    protocol:
      otlp: { protocol: grpc, tls: { insecure: true } }
    resolver:
      dns: { hostname: ${NAME}, port: ${port}, interval_seconds: 1, timeout_seconds: 1, server: '${dns!.address}' }
    handover_seconds: ${handover}
${frontQueues}
`;
    const [withHandover, without] = await Promise.all([startCollector({ args: FRONT, config: frontConfig(30) }), startCollector({ args: FRONT, config: frontConfig(0) })]);

    // Load: a new trace every 50 ms on each front (fewer when the machine is busy), its 6 spans
    // 500 ms apart, for 20 s; the 4th backend joins at 5 s, the first leaves at 12 s, each while
    // dozens of traces per front are half sent.
    const LOAD_MS = 20_000;
    const started = Date.now();
    const sent = { with: 0, without: 0 };
    /** When each trace's first and last span were acknowledged, per front. */
    const spansAt: Record<'with' | 'without', Array<[number, number]>> = { with: [], without: [] };
    const inFlight: Array<Promise<void>> = [];
    const runTrace = async (front: RunningCollector, service: string, key: 'with' | 'without') => {
      const id = randomBytes(16).toString('hex');
      sent[key]++;
      let first = 0;
      for (let i = 0; i < SPANS_PER_TRACE; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 500));
        await sendSpan(front, service, id, i);
        if (i === 0) first = Date.now();
      }
      spansAt[key].push([first, Date.now()]);
    };
    const membership = (async () => {
      await new Promise((r) => setTimeout(r, 5_000));
      dns!.records.set(NAME, addresses.slice(0, 4));
      await new Promise((r) => setTimeout(r, 7_000));
      dns!.records.set(NAME, addresses.slice(1, 4));
    })();
    while (Date.now() - started < LOAD_MS) {
      inFlight.push(runTrace(withHandover, 'lb-handover', 'with'), runTrace(without, 'lb-no-handover', 'without'));
      await new Promise((r) => setTimeout(r, 50));
    }
    await membership;
    await Promise.all(inFlight);

    const handover = await outcome(backends, 'lb-handover', sent.with * SPANS_PER_TRACE);
    const noHandover = await outcome(backends, 'lb-no-handover', sent.without * SPANS_PER_TRACE);
    // When each front saw the changes, and how many of its traces were being sent across one.
    for (const [name, front, key, result] of [['handover 30 s', withHandover, 'with', handover], ['handover 0', without, 'without', noHandover]] as const) {
      const changes = front.logs
        .filter((line) => line.includes('"loadbalancing: backends changed"'))
        .map((line) => (JSON.parse(line) as { time: number }).time)
        .slice(1);
      const across = spansAt[key].filter(([first, last]) => changes.some((t) => first < t && t < last)).length;
      console.log(
        `[loadbalancing e2e] DNS +1 then -1 under load, ${name}: ${JSON.stringify(result)}; changes seen at ${changes.map((t) => `${((t - started) / 1000).toFixed(1)} s`).join(', ')}; traces in flight across a change: ${across}`,
      );
    }
    for (const [result, count] of [[handover, sent.with], [noHandover, sent.without]] as const) {
      expect(result.spans).toBe(count * SPANS_PER_TRACE); // every span stored…
      expect(result.distinct).toBe(result.spans); // …once
      expect(result.traces).toBe(count);
    }
    for (const front of [withHandover, without]) {
      const metrics = await (await fetch(`${front.apiUrl}/metrics`)).text();
      expect(metrics).toMatch(/flowtrace_loadbalancer_membership_changes_total\{exporter="loadbalancing"\} 3/);
      expect(metrics).toMatch(/flowtrace_loadbalancer_backends\{exporter="loadbalancing"\} 3/);
    }
    await Promise.all([withHandover.stop(), without.stop()]);
  }, 120_000);
});
