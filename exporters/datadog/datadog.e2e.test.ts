/**
 * The datadog exporter against the Datadog Agent's own trace intake (the trace-agent HTTP
 * receiver, built from github.com/DataDog/datadog-agent/pkg/trace by test/peers/build.sh):
 * what the agent decoded from our PUT /v0.4/traces must be exactly what was sent.
 */
import { encode } from '@msgpack/msgpack';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../collector/src/model/span.js';
import { SpanKind, StatusCode } from '../../collector/src/model/span.js';
import { cleanupPeers, PEER_HOOK_TIMEOUT_MS, startDatadogIntake, type DatadogSpan, type RunningDatadogIntake } from '../../test/helpers/peers.js';
import { ExportError } from '../exporter.js';
import { datadogConfigSchema } from './config.js';
import { DatadogTraceIntakeExporter } from './exporter.js';
import { toDatadogSpan } from './mapping.js';
import { RECORD_MAGIC, RECORD_VERSION } from './records.js';
import { resource, SCOPE, T0 } from './spans.testing.js';
import { testSpan } from '../../collector/src/model/span.testing.js';

afterAll(cleanupPeers);

const logger = pino({ level: 'silent' });
const exporterFor = (endpoint: string, settings: Record<string, unknown> = {}) =>
  new DatadogTraceIntakeExporter('datadog', datadogConfigSchema.parse({ endpoint, ...settings }), { logger });

async function poll<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Two traces, two services. Trace 1 has a 128-bit ID with high bits and a low half above 2^53.

const TRACE_1 = 'f00dbabe12345678c0ffee0123456789';
const TRACE_2 = '0000000000000000000000000000abcd'; // a 64-bit ID: no _dd.p.tid
const checkout = resource('checkout', { 'service.version': '2.3.1', 'deployment.environment.name': 'staging', 'host.name': 'web-1', 'process.pid': '4242' }, { 'process.pid': 'int' });
const payments = resource('payments', { 'telemetry.sdk.language': 'java' });

function s(overrides: Partial<Span> & Pick<Span, 'spanId' | 'name' | 'kind'>): Span {
  return testSpan({
    resource: checkout,
    scope: SCOPE,
    traceId: TRACE_1,
    flags: 1,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 50_000_000n,
    ...overrides,
  });
}

const root = s({
  spanId: 'a000000000000001',
  name: 'GET /orders/:id',
  kind: SpanKind.SERVER,
  attributes: { 'http.request.method': 'GET', 'http.route': '/orders/:id', 'http.response.status_code': '200', 'url.full': 'http://shop/orders/7', 'order.items': '3', 'order.total': '99.5', 'order.gift': 'true' },
  attributeKinds: { 'http.response.status_code': 'int', 'order.items': 'int', 'order.total': 'double', 'order.gift': 'bool' },
  traceState: 'vendor=x',
});
const query = s({
  spanId: 'a000000000000002',
  parentSpanId: root.spanId,
  name: 'SELECT orders',
  kind: SpanKind.CLIENT,
  startTimeUnixNano: T0 + 1_000_000n,
  endTimeUnixNano: T0 + 4_000_000n,
  attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM orders WHERE id = $1', 'db.namespace': 'shop' },
});
const charge = s({
  spanId: 'fedcba9876543210', // above 2^53
  parentSpanId: root.spanId,
  name: 'POST',
  kind: SpanKind.CLIENT,
  startTimeUnixNano: T0 + 5_000_000n,
  endTimeUnixNano: T0 + 45_000_000n,
  attributes: { 'http.request.method': 'POST', 'url.template': '/charge', 'http.response.status_code': '502' },
  attributeKinds: { 'http.response.status_code': 'int' },
  statusCode: StatusCode.ERROR,
});
const chargeServer = s({
  resource: payments,
  spanId: 'b000000000000001',
  parentSpanId: charge.spanId,
  name: 'POST /charge',
  kind: SpanKind.SERVER,
  startTimeUnixNano: T0 + 6_000_000n,
  endTimeUnixNano: T0 + 44_000_000n,
  attributes: { 'http.request.method': 'POST', 'http.route': '/charge' },
  statusCode: StatusCode.ERROR,
  statusMessage: 'payment failed',
  events: [
    {
      timeUnixNano: T0 + 43_000_000n,
      name: 'exception',
      attributes: { 'exception.type': 'CardDeclinedException', 'exception.message': 'card declined', 'exception.stacktrace': 'CardDeclinedException: card declined\n\tat Payments.charge(Payments.java:42)' },
      droppedAttributesCount: 0,
    },
  ],
});
const fraudCheck = s({
  resource: payments,
  spanId: 'b000000000000002',
  parentSpanId: chargeServer.spanId,
  name: 'FraudCheck.score',
  kind: SpanKind.INTERNAL,
  startTimeUnixNano: T0 + 7_000_000n,
  endTimeUnixNano: T0 + 9_000_000n,
  attributes: { 'code.function.name': 'score' },
});
const consume = s({
  resource: payments,
  traceId: TRACE_2,
  spanId: 'c000000000000001',
  name: 'orders process',
  kind: SpanKind.CONSUMER,
  attributes: { 'messaging.system': 'kafka', 'messaging.operation': 'process', 'messaging.destination.name': 'orders' },
  events: [{ timeUnixNano: T0 + 1n, name: 'rebalanced', attributes: { partitions: '12' }, attributeKinds: { partitions: 'int' }, droppedAttributesCount: 0 }],
  links: [{ traceId: TRACE_1, spanId: root.spanId, traceState: '', flags: 1, attributes: {}, droppedAttributesCount: 0 }],
});
const publish = s({
  resource: payments,
  traceId: TRACE_2,
  spanId: 'c000000000000002',
  parentSpanId: consume.spanId,
  name: 'receipts publish',
  kind: SpanKind.PRODUCER,
  attributes: { 'messaging.system': 'kafka', 'messaging.operation': 'publish', 'messaging.destination.name': 'receipts' },
});

const ALL = [root, query, charge, chargeServer, fraudCheck, consume, publish];
const TOP_LEVEL = new Set([root.spanId, chargeServer.spanId, consume.spanId]);

/** What the agent must have decoded for `span`: the mapped span in protojson form, plus _top_level. */
function expected(span: Span): DatadogSpan {
  const dd = toDatadogSpan(span);
  const out: DatadogSpan = {
    service: dd.service,
    name: dd.name,
    resource: dd.resource,
    traceID: dd.trace_id.toString(),
    spanID: dd.span_id.toString(),
    start: dd.start.toString(),
    duration: dd.duration.toString(),
    meta: { ...dd.meta },
    metrics: { ...dd.metrics, ...(TOP_LEVEL.has(span.spanId) ? { _top_level: 1 } : {}) },
    type: dd.type,
  };
  // protojson leaves out zero values.
  if (dd.parent_id !== 0n) out.parentID = dd.parent_id.toString();
  if (dd.error !== 0) out.error = dd.error;
  return out;
}

describe('datadog exporter → the Datadog Agent trace intake', () => {
  let dd: RunningDatadogIntake;
  beforeAll(async () => {
    dd = await startDatadogIntake();
  }, PEER_HOOK_TIMEOUT_MS);

  it('delivers several concatenated records; the agent decodes every mapped field as sent', async () => {
    const e = exporterFor(dd.endpoint);
    // Records in the order requests might bring them: parents and children apart.
    const payload = Buffer.concat([e.encode([query, consume]), e.encode([chargeServer, charge]), e.encode([publish, fraudCheck, root])]);
    await e.send(payload, ALL.length, 'e2e-batch-1');

    const spans = await poll('7 spans in the intake', () => {
      const got = dd.readSpans();
      return got.length >= ALL.length ? got : undefined;
    });
    expect(spans).toHaveLength(ALL.length);
    const bySpanId = new Map(spans.map((x) => [x.spanID, x]));
    for (const sent of ALL) {
      const got = bySpanId.get(BigInt('0x' + sent.spanId).toString());
      expect(got, sent.name).toEqual(expected(sent));
    }

    // The same, spelled out, so that the test does not only check the mapping against itself.
    const got = (x: Span) => bySpanId.get(BigInt('0x' + x.spanId).toString())!;
    expect(got(root)).toMatchObject({
      service: 'checkout',
      name: 'http.server.request',
      resource: 'GET /orders/:id',
      type: 'web',
      traceID: '13907095862997510025', // 0xc0ffee0123456789, above 2^53
      spanID: '11529215046068469761', // 0xa000000000000001
      start: '1767225600000000000',
      duration: '50000000',
      meta: {
        '_dd.p.tid': 'f00dbabe12345678',
        'otel.trace_id': TRACE_1,
        'span.kind': 'server',
        'http.method': 'GET',
        'http.route': '/orders/:id',
        'http.url': 'http://shop/orders/7',
        'order.gift': 'true',
        'otel.status_code': 'Unset',
        'otel.library.name': '@opentelemetry/instrumentation-http',
        'otel.library.version': '0.57.0',
        version: '2.3.1',
        env: 'staging',
        'host.name': 'web-1',
        'process.pid': '4242',
        'w3c.tracestate': 'vendor=x',
      },
      metrics: { 'http.status_code': 200, 'order.items': 3, 'order.total': 99.5, _top_level: 1, '_dd.measured': 1, _sampling_priority_v1: 1 },
    });
    expect(got(root).parentID).toBeUndefined();
    expect(got(root).error).toBeUndefined();
    expect(got(query)).toMatchObject({ name: 'postgresql.query', resource: 'SELECT * FROM orders WHERE id = $1', type: 'sql', parentID: got(root).spanID, meta: { 'db.name': 'shop' } });
    expect(got(query).metrics).not.toHaveProperty('_top_level');
    expect(got(charge)).toMatchObject({ name: 'http.client.request', resource: 'POST /charge', type: 'http', spanID: '18364758544493064720', error: 1, meta: { 'error.msg': '502 Bad Gateway' } });
    expect(got(chargeServer)).toMatchObject({
      service: 'payments',
      name: 'http.server.request',
      resource: 'POST /charge',
      parentID: '18364758544493064720',
      error: 1,
      meta: {
        'error.msg': 'card declined',
        'error.type': 'CardDeclinedException',
        'error.stack': 'CardDeclinedException: card declined\n\tat Payments.charge(Payments.java:42)',
        'otel.status_description': 'payment failed',
        'otel.status_code': 'Error',
        '_dd.span_events.has_exception': 'true',
        'telemetry.sdk.language': 'java',
      },
      metrics: { _top_level: 1 }, // its parent is in checkout
    });
    expect(JSON.parse(got(chargeServer).meta!.events)).toEqual([
      { time_unix_nano: 1767225600043000000, name: 'exception', attributes: { 'exception.type': 'CardDeclinedException', 'exception.message': 'card declined', 'exception.stacktrace': 'CardDeclinedException: card declined\n\tat Payments.charge(Payments.java:42)' } },
    ]);
    expect(got(fraudCheck)).toMatchObject({ name: 'Internal', resource: 'FraudCheck.score', type: 'custom' });
    expect(got(fraudCheck).metrics).not.toHaveProperty('_top_level');
    expect(got(fraudCheck).metrics).not.toHaveProperty('_dd.measured');
    expect(got(consume)).toMatchObject({ traceID: '43981', name: 'kafka.process', resource: 'process orders', type: 'custom', metrics: { _top_level: 1, '_dd.measured': 1 } });
    expect(got(consume).meta).not.toHaveProperty('_dd.p.tid');
    expect(JSON.parse(got(consume).meta!['_dd.span_links'])).toEqual([{ trace_id: TRACE_1, span_id: root.spanId }]);
    expect(got(publish)).toMatchObject({ name: 'kafka.publish', resource: 'publish receipts', parentID: got(consume).spanID });

    // One request, one chunk per trace, the tracer headers as the agent read them.
    const records = dd.readRecords().filter((r) => r.kind === 'traces');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ endpoint: 'v0.4', lang: 'nodejs', lang_version: process.version, client_computed_top_level: true });
    expect(records[0].tracer_version).toMatch(/^flowtrace-/);
    const [payloadSeen] = dd.readTraces();
    expect(payloadSeen.languageName).toBe('nodejs');
    expect(payloadSeen.chunks!.map((c) => c.spans!.map((x) => x.spanID))).toEqual([
      [query, chargeServer, charge, fraudCheck, root].map((x) => BigInt('0x' + x.spanId).toString()),
      [consume, publish].map((x) => BigInt('0x' + x.spanId).toString()),
    ]);
  });

  it('splits a batch over several requests and the agent gets every span once', async () => {
    const before = dd.readSpans().length;
    const beforeRecords = dd.readRecords().length;
    const e = exporterFor(dd.endpoint, { max_request_bytes: 4096 });
    const many = Array.from({ length: 30 }, (_, i) =>
      s({ traceId: i % 2 ? TRACE_1.replace('f00d', 'beef') : TRACE_2.replace('abcd', 'abce'), spanId: (0xd000000000000000n + BigInt(i)).toString(16), name: `job-${i}`, kind: SpanKind.INTERNAL, attributes: { pad: 'p'.repeat(300) } }),
    );
    await e.send(Buffer.concat([e.encode(many.slice(0, 10)), e.encode(many.slice(10))]), many.length, 'e2e-batch-2');
    const spans = await poll('30 more spans', () => {
      const got = dd.readSpans();
      return got.length >= before + many.length ? got.slice(before) : undefined;
    });
    expect(spans.map((x) => x.resource).sort()).toEqual(many.map((x) => x.name).sort());
    expect(dd.readRecords().length - beforeRecords).toBeGreaterThan(1);
  });

  it('gets a retryable error while the agent is down, and delivers after it restarts', async () => {
    const e = exporterFor(dd.endpoint);
    const again = { ...root, spanId: 'e000000000000001' };
    const payload = Buffer.from(e.encode([again]));
    await dd.stop();
    const err = await e.send(payload, 1, 'e2e-batch-3').then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(ExportError);
    expect((err as ExportError).retryable).toBe(true);
    await dd.restart();
    await e.send(payload, 1, 'e2e-batch-3');
    const spanId = BigInt('0x' + again.spanId).toString();
    await poll('the span after the restart', () => dd.readSpans().find((x) => x.spanID === spanId));
  });

  it('treats the agent’s 400 for a payload it cannot decode as permanent', async () => {
    // A well-framed record whose span the agent cannot read: meta must be a map of strings.
    const bad = encode({ service: 'x', name: 'x', meta: [1, 2, 3], metrics: {} });
    const frame = Buffer.alloc(6 + 26 + 1 + 8);
    frame[0] = RECORD_MAGIC;
    frame[1] = RECORD_VERSION;
    frame.writeUInt32BE(1, 2);
    frame.writeBigUInt64BE(1n, 6);
    frame.writeBigUInt64BE(2n, 14);
    frame.writeBigUInt64BE(0n, 22);
    frame.writeUInt16BE(1, 30);
    frame.write('x', 32);
    frame.writeUInt32BE(bad.length - 1, 33);
    frame.writeUInt32BE(bad.length, 37);
    const err = await exporterFor(dd.endpoint)
      .send(Buffer.concat([frame, bad]), 1, 'e2e-bad')
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(err).toBeInstanceOf(ExportError);
    expect(err).toMatchObject({ retryable: false });
    expect((err as ExportError).message).toMatch(/HTTP 400/);
  });
});

describe('datadog exporter → an HTTP server answering 4xx', () => {
  it('treats a 400-class answer as permanent (no retry hint), and 429 as retryable', async () => {
    const answers = [400, 403, 413, 429];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(answers.shift()!, { 'Retry-After': '5' }).end('refused'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const e = exporterFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const payload = Buffer.from(e.encode([root]));
      const outcomes: Array<{ retryable: boolean; retryAfterMs?: number }> = [];
      for (let i = 0; i < 4; i++) {
        const err = await e.send(payload, 1, `b${i}`).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(err).toBeInstanceOf(ExportError);
        outcomes.push({ retryable: (err as ExportError).retryable, retryAfterMs: (err as ExportError).retryAfterMs });
      }
      expect(outcomes).toEqual([
        { retryable: false, retryAfterMs: undefined },
        { retryable: false, retryAfterMs: undefined },
        { retryable: false, retryAfterMs: undefined },
        { retryable: true, retryAfterMs: 5000 },
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
