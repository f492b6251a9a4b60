import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InstrumentationScope, Resource, Span } from '../../collector/src/model/span.js';
import { testSpan } from '../../collector/src/model/span.testing.js';
import { PersistentQueue, queueDirectory } from '../../collector/src/pipeline/persistent-queue/index.js';
import { queueConfig, removeTempDirs, silent, tempDir } from '../../collector/src/pipeline/persistent-queue/test-support.testing.js';
import { QueueFullError } from '../../collector/src/pipeline/stage.js';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { CollectorMetrics } from '../../collector/src/telemetry.js';
import { startDnsServer, type TestDnsServer } from '../../test/helpers/dns-server.js';
import { ExportError, ExporterConfigError, type Exporter, type ExporterQueue } from '../exporter.js';
import { encodeTraceRequest } from '../otlp/encoder.js';
import { captureLogs } from '../otlp/exporter.testing.js';
import { loadBalancingConfigSchema } from './config.js';
import { LoadBalancingExporter } from './exporter.js';

const resource: Resource = { attributes: { 'service.name': 'checkout' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'checkout' };
const scope: InstrumentationScope = { name: 'test', version: '1', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

/** `spansPerTrace` spans of each of `traces` new random traces. */
function traceSpans(traces: number, spansPerTrace: number): Span[] {
  const spans: Span[] = [];
  for (let t = 0; t < traces; t++) {
    const traceId = randomBytes(16).toString('hex');
    for (let s = 0; s < spansPerTrace; s++) {
      spans.push(testSpan({ resource, scope, traceId, spanId: randomBytes(8).toString('hex'), name: `op-${s}`, kind: 1, startTimeUnixNano: 1_700_000_000_000_000_000n, endTimeUnixNano: 1_700_000_000_001_000_000n }));
    }
  }
  return spans;
}

const payload = (spans: Span[]): Buffer => Buffer.from(encodeTraceRequest(spans));

/** Names of backend exporters whose next queue start fails. */
const failingStarts = new Set<string>();

/** A queue in memory: records what is appended; `room` and `failure` make it refuse. */
class MemoryQueue implements ExporterQueue {
  readonly records: Array<{ record: Uint8Array; spans: number }> = [];
  room = true;
  failure: Error | undefined;
  started = false;
  closed = false;
  depth = { records: 0, spans: 0, bytes: 0 };

  constructor(readonly exporter: Exporter) {}

  async append(record: Uint8Array, spans: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.records.push({ record, spans });
  }
  hasRoomFor(): boolean {
    return this.room;
  }
  fullError(): QueueFullError {
    return new QueueFullError(`exporter queue '${this.exporter.name}' is full`, 7);
  }
  async start(): Promise<void> {
    if (failingStarts.delete(this.exporter.name)) throw new Error('EACCES: queue directory');
    this.started = true;
  }
  async shutdown(): Promise<void> {
    this.closed = true;
  }
  /** Trace IDs of the spans appended, with their span count. */
  traces(): Map<string, number> {
    const out = new Map<string, number>();
    for (const { record } of this.records) for (const s of decodeTraceRequest(record).spans) out.set(s.traceId, (out.get(s.traceId) ?? 0) + 1);
    return out;
  }
}

interface Harness {
  exporter: LoadBalancingExporter;
  queues: Map<string, MemoryQueue>;
  /** Every queue ever opened, by endpoint (a reopened one replaces the closed one here). */
  clock: { now: number };
  logs: Array<Record<string, unknown>>;
}

function harness(config: Record<string, unknown>, name = 'loadbalancing'): Harness {
  const queues = new Map<string, MemoryQueue>();
  const clock = { now: 1_000_000 };
  const logs = captureLogs();
  const exporter = new LoadBalancingExporter(
    name,
    loadBalancingConfigSchema.parse(config),
    {
      logger: logs.logger,
      openQueue: (inner) => {
        const queue = new MemoryQueue(inner);
        queues.set(inner.name.slice(name.length + 1), queue);
        return queue;
      },
    },
    () => clock.now,
  );
  return { exporter, queues, clock, logs: logs.records };
}

const THREE = ['127.0.0.1:4001', '127.0.0.1:4002', '127.0.0.1:4003'];
const staticThree = { resolver: { static: { hostnames: THREE } }, protocol: { otlp: { tls: { insecure: true } } } };

async function metricValue(exporter: LoadBalancingExporter, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await exporter.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

describe('loadbalancing exporter: routing into backend queues', () => {
  it('puts every span of a trace in one backend\'s queue, all spans once, each backend a share', async () => {
    const h = harness(staticThree);
    await h.exporter.start();
    expect([...h.queues.keys()].sort()).toEqual(THREE);
    expect([...h.queues.values()].every((q) => q.started && q.exporter.name.startsWith('loadbalancing/127.0.0.1:'))).toBe(true);
    const spans = traceSpans(300, 5);
    // Spans of one trace arrive in separate payloads, interleaved with other traces.
    for (let i = 0; i < 5; i++) await h.exporter.send(payload(spans.filter((_, n) => n % 5 === i)), 300, `b${i}`);
    const owner = new Map<string, string>();
    let total = 0;
    for (const [endpoint, queue] of h.queues) {
      const traces = queue.traces();
      expect(traces.size).toBeGreaterThan(50); // each backend gets a share (about 100)
      for (const [traceId, count] of traces) {
        expect(owner.has(traceId)).toBe(false);
        owner.set(traceId, endpoint);
        expect(count).toBe(5);
        total += count;
      }
    }
    expect(total).toBe(1500);
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_spans_routed_total')).toBe(1500);
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_backends')).toBe(3);
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_membership_changes_total')).toBe(1);
    // Another process with the list in another order routes alike.
    const other = harness({ ...staticThree, resolver: { static: { hostnames: [...THREE].reverse() } } });
    await other.exporter.start();
    for (const [traceId, endpoint] of owner) expect(other.exporter.ownerOf(traceId)).toBe(endpoint);
    await h.exporter.shutdown();
    await other.exporter.shutdown();
    expect([...h.queues.values()].every((q) => q.closed)).toBe(true);
  });

  it('takes a payload all or nothing: one full backend queue refuses it whole, retryable with its hint', async () => {
    const h = harness(staticThree);
    await h.exporter.start();
    h.queues.get(THREE[1]!)!.room = false;
    const err = await h.exporter.send(payload(traceSpans(60, 2)), 120, 'b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 7000, message: expect.stringContaining(`backend ${THREE[1]}: exporter queue 'loadbalancing/${THREE[1]}' is full`) });
    expect([...h.queues.values()].every((q) => q.records.length === 0)).toBe(true);
    await h.exporter.shutdown();
  });

  it('fails retryably when an append fails (disk error), naming the backend', async () => {
    const h = harness(staticThree);
    await h.exporter.start();
    h.queues.get(THREE[2]!)!.failure = new Error('EIO: disk');
    const err = await h.exporter.send(payload(traceSpans(60, 2)), 120, 'b').catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, message: expect.stringContaining(`backend ${THREE[2]}: EIO: disk`) });
    await h.exporter.shutdown();
  });

  it('dead-letters bytes that do not decode (they never will), and passes an empty payload', async () => {
    const h = harness(staticThree);
    await h.exporter.start();
    await expect(h.exporter.send(Buffer.from([0x0a, 0xff]), 1, 'b')).rejects.toMatchObject({ retryable: false });
    await h.exporter.send(Buffer.alloc(0), 0, 'b');
    await h.exporter.shutdown();
  });

  it('refuses to start without the pipeline\'s queues, naming the exporter', async () => {
    const exporter = new LoadBalancingExporter('loadbalancing/x', loadBalancingConfigSchema.parse(staticThree), { logger: silent });
    await expect(exporter.start()).rejects.toThrow(new ExporterConfigError('exporters.loadbalancing/x', "needs the pipeline's durable queues for its backends, which this process does not provide"));
  });

  it('fails a start whose backend cannot start (an unreadable TLS file), naming the key', async () => {
    const dir = tempDir();
    const metrics = new CollectorMetrics();
    const exporter = new LoadBalancingExporter('loadbalancing', loadBalancingConfigSchema.parse({ resolver: { static: { hostnames: THREE } }, protocol: { otlp: { tls: { ca_file: '/nonexistent/ca.pem' } } } }), {
      logger: silent,
      openQueue: (inner, queue) => new PersistentQueue(inner, { dir: queueDirectory(dir, inner.name), config: queue, metrics, logger: silent }),
    });
    await expect(exporter.start()).rejects.toThrow(/exporters\.loadbalancing\/127\.0\.0\.1:400\d\.tls\.ca_file/);
    await exporter.shutdown();
  });
});

describe('loadbalancing exporter: membership changes (DNS on a real server)', () => {
  let dns: TestDnsServer;
  const NAME = 'collectors.flowtrace.test';
  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
  });
  afterEach(() => {
    dns.mode = 'answer';
  });

  const dnsConfig = (handover: number) => ({ resolver: { dns: { hostname: NAME, port: 4317, interval_seconds: 1, server: dns.address } }, handover_seconds: handover, protocol: { otlp: { tls: { insecure: true } } } });

  async function until(exporter: LoadBalancingExporter, endpoints: string[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (exporter.endpoints.join() !== endpoints.join()) {
      if (Date.now() > deadline) throw new Error(`ring never became ${endpoints.join()} (is ${exporter.endpoints.join()})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('starts with no backend when DNS fails (sends fail retryably), then picks them up', async () => {
    dns.records.set(NAME, ['127.0.0.2']);
    dns.mode = 'servfail';
    const h = harness(dnsConfig(30));
    await h.exporter.start();
    await expect(h.exporter.send(payload(traceSpans(1, 1)), 1, 'b')).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('no backend known yet') });
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_resolver_errors_total')).toBeGreaterThanOrEqual(1);
    dns.mode = 'answer';
    await until(h.exporter, ['127.0.0.2:4317']);
    await h.exporter.send(payload(traceSpans(1, 1)), 1, 'b');
    expect(h.queues.get('127.0.0.2:4317')!.records).toHaveLength(1);
    await h.exporter.shutdown();
  });

  it('keeps routed traces on their backend for handover_seconds after a 4th joins, then rebalances a quarter', async () => {
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const h = harness(dnsConfig(30));
    await h.exporter.start();
    const three = ['127.0.0.2:4317', '127.0.0.3:4317', '127.0.0.4:4317'];
    expect(h.exporter.endpoints).toEqual(three);
    const ids = Array.from({ length: 2000 }, () => randomBytes(16).toString('hex'));
    const before = new Map(ids.map((id) => [id, h.exporter.ownerOf(id)!]));

    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
    await until(h.exporter, [...three, '127.0.0.5:4317']);
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_membership_changes_total')).toBe(2);
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_backends')).toBe(4);
    h.clock.now += 10_000;
    expect(ids.filter((id) => h.exporter.ownerOf(id) !== before.get(id))).toEqual([]); // handover: none moved
    const fresh = Array.from({ length: 2000 }, () => randomBytes(16).toString('hex'));
    const toNew = fresh.filter((id) => h.exporter.ownerOf(id) === '127.0.0.5:4317').length;
    expect(toNew / fresh.length).toBeGreaterThan(0.15); // new traces use the new ring at once

    h.clock.now += 30_000; // the handover is over
    const moved = ids.filter((id) => h.exporter.ownerOf(id) !== before.get(id));
    expect(moved.length / ids.length).toBeGreaterThan(0.15);
    expect(moved.length / ids.length).toBeLessThan(0.35);
    await h.exporter.shutdown();
  });

  it('without handover moves about a quarter at once', async () => {
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const h = harness(dnsConfig(0));
    await h.exporter.start();
    const ids = Array.from({ length: 2000 }, () => randomBytes(16).toString('hex'));
    const before = new Map(ids.map((id) => [id, h.exporter.ownerOf(id)!]));
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
    await until(h.exporter, ['127.0.0.2:4317', '127.0.0.3:4317', '127.0.0.4:4317', '127.0.0.5:4317']);
    const moved = ids.filter((id) => h.exporter.ownerOf(id) !== before.get(id)).length;
    expect(moved / ids.length).toBeGreaterThan(0.15);
    expect(moved / ids.length).toBeLessThan(0.35);
    await h.exporter.shutdown();
  });

  it('leaves a backend whose queue does not open out of the ring, and tries it again later', async () => {
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']);
    const h = harness(dnsConfig(30));
    await h.exporter.start();
    failingStarts.add('loadbalancing/127.0.0.4:4317');
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const deadline = Date.now() + 15_000;
    while (!h.logs.some((l) => l.msg === 'loadbalancing: could not open a backend; left out of the ring') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(h.logs.find((l) => l.msg === 'loadbalancing: could not open a backend; left out of the ring')).toMatchObject({ backend: '127.0.0.4:4317', err: 'EACCES: queue directory' });
    expect(h.exporter.endpoints).toEqual(['127.0.0.2:4317', '127.0.0.3:4317']);
    expect(await metricValue(h.exporter, 'flowtrace_loadbalancer_membership_changes_total')).toBe(1); // the failed open changed nothing
    h.clock.now += 10_000;
    await until(h.exporter, ['127.0.0.2:4317', '127.0.0.3:4317', '127.0.0.4:4317']);
    await h.exporter.shutdown();
  });

  it('routes a removed backend\'s recent traces to it during handover, then closes its drained queue', async () => {
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const h = harness(dnsConfig(5));
    await h.exporter.start();
    const spans = traceSpans(300, 1);
    await h.exporter.send(payload(spans), 300, 'b1');
    const gone = h.queues.get('127.0.0.4:4317')!;
    const itsTraces = [...gone.traces().keys()];
    expect(itsTraces.length).toBeGreaterThan(50);

    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']);
    await until(h.exporter, ['127.0.0.2:4317', '127.0.0.3:4317']);
    const second = itsTraces.map((traceId) => testSpan({ resource, scope, traceId, spanId: randomBytes(8).toString('hex'), name: 'late', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n }));
    await h.exporter.send(payload(second), second.length, 'b2');
    expect([...gone.traces().values()].every((n) => n === 2)).toBe(true); // still to the removed backend
    expect(gone.closed).toBe(false);

    h.clock.now += 5_000; // handover over; its queue is empty (a memory queue delivers at once)
    const deadline = Date.now() + 10_000;
    while (!gone.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(gone.closed).toBe(true);
    await h.exporter.send(payload(second), second.length, 'b3');
    expect([...gone.traces().values()].every((n) => n === 2)).toBe(true);
    await h.exporter.shutdown();
  });
});

describe('loadbalancing exporter with the pipeline\'s durable queues and real OTLP/HTTP backends', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    removeTempDirs();
  });

  /** An OTLP/HTTP endpoint that decodes what it is sent. */
  async function backend(): Promise<{ hostPort: string; spans: Span[] }> {
    const received: Span[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        for (const s of decodeTraceRequest(Buffer.concat(chunks)).spans) received.push(s);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`, spans: received };
  }

  it('delivers through one queue directory per backend, named after it', async () => {
    const backends = [await backend(), await backend()];
    const dataDir = tempDir();
    const metrics = new CollectorMetrics();
    const exporter = new LoadBalancingExporter(
      'loadbalancing/front',
      loadBalancingConfigSchema.parse({
        resolver: { static: { hostnames: backends.map((b) => b.hostPort) } },
        protocol: { otlp: { protocol: 'http/protobuf', compression: 'none', tls: { insecure: true } } },
        backend_queue: { batch: { timeout_ms: 50 } },
      }),
      {
        logger: silent,
        registry: metrics.registry,
        openQueue: (inner, queue) => new PersistentQueue(inner, { dir: queueDirectory(dataDir, inner.name), config: queueConfig({ ...queue }), metrics, logger: silent }),
      },
    );
    await exporter.start();
    for (const b of backends) expect(existsSync(queueDirectory(dataDir, `loadbalancing/front/${b.hostPort}`))).toBe(true);
    expect(queueDirectory(dataDir, `loadbalancing/front/${backends[0]!.hostPort}`)).toMatch(/queues\/loadbalancing~front~127\.0\.0\.1%3A\d+$/);
    const spans = traceSpans(100, 3);
    await exporter.send(payload(spans), spans.length, 'b');
    const deadline = Date.now() + 15_000;
    while (backends[0]!.spans.length + backends[1]!.spans.length < spans.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(backends[0]!.spans.length + backends[1]!.spans.length).toBe(spans.length);
    const a = new Set(backends[0]!.spans.map((s) => s.traceId));
    expect(backends[1]!.spans.some((s) => a.has(s.traceId))).toBe(false);
    expect(a.size).toBeGreaterThan(20);
    // The collector's registry has the metrics, by backend.
    const text = await metrics.registry.metrics();
    expect(text).toContain(`flowtrace_loadbalancer_spans_routed_total{exporter="loadbalancing/front",backend="${backends[0]!.hostPort}"} ${backends[0]!.spans.length}`);
    await exporter.shutdown();
  });
});
