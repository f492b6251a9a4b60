/**
 * Issue 10 items 2, 4 and 7 against a real collector with the default configuration, over
 * raw OTLP (protobuf and JSON over HTTP, protobuf over gRPC): a span the store cannot keep as
 * sent is refused per span with a reason, never acknowledged and lost; an end before the
 * start is stored and read back as sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanView } from '../collector/src/query/span-view.js';
import { cleanup, getJson, sql, startCollector, stopAndSettle, waitFor, type RunningCollector } from './helpers/collector.js';
import { grpcTraces, postTraces, type ExportOutcome } from './helpers/otlp-send.js';
import { randomHex, rawJson, rawProtobuf, type RawSpan } from './helpers/raw-otlp.js';
import { inspectStore } from './helpers/store-inspect.js';

const DAY = 86_400_000_000_000n;
const nowNanos = () => BigInt(Date.now()) * 1_000_000n;

let collector: RunningCollector;
beforeAll(async () => {
  collector = await startCollector();
});
afterAll(cleanup);

type Transport = 'http-protobuf' | 'http-json' | 'grpc';
const TRANSPORTS: Transport[] = ['http-protobuf', 'http-json', 'grpc'];

function send(transport: Transport, service: string, spans: RawSpan[]): Promise<ExportOutcome> {
  switch (transport) {
    case 'http-protobuf':
      return postTraces(collector.httpEndpoint, rawProtobuf(service, spans), 'application/x-protobuf');
    case 'http-json':
      return postTraces(collector.httpEndpoint, rawJson(service, spans), 'application/json');
    case 'grpc':
      return grpcTraces(collector.grpcEndpoint, rawProtobuf(service, spans));
  }
}

function span(traceId: string, name: string, start: bigint, end = start + 1_000_000n, events?: bigint[]): RawSpan {
  return { traceId, spanId: randomHex(8), name, start, end, events };
}

async function storedNames(traceId: string, expected: number): Promise<string[]> {
  return waitFor(async () => {
    const rows = await sql<{ SpanName: string }>(collector.apiUrl, `SELECT SpanName FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY SpanName`);
    return rows.length >= expected ? rows.map((r) => r.SpanName) : undefined;
  }, `${expected} spans of trace ${traceId}`);
}

// Concurrent: each test waits for its spans to come out of the default processors (stitch holds them a few seconds).
describe.concurrent.each(TRANSPORTS)('over %s', (transport) => {
  it('refuses spans older than retention_days and spans without a start time per span, and stores the rest', async () => {
    const traceId = randomHex(16);
    const now = nowNanos();
    const outcome = await send(transport, `ages-${transport}`, [
      span(traceId, 'a-now', now),
      span(traceId, 'b-six-days-old', now - 6n * DAY),
      span(traceId, 'eight-days-old', now - 8n * DAY),
      span(traceId, 'no-start', 0n, now),
      span(traceId, 'thirty-days-old', now - 30n * DAY),
    ]);
    expect(outcome.status).toBe(200);
    expect(outcome.rejected).toBe(3);
    expect(outcome.message).toMatch(/^2 spans older than retention_days=7 less a 1 h margin \(started before \d{4}-.*Z\): the store would delete them before they were stored; 1 span without a start time \(start_time_unix_nano is 0\)$/);
    expect(await storedNames(traceId, 2)).toEqual(['a-now', 'b-six-days-old']);
  });

  it('refuses a start or event time the store cannot hold, and keeps storing every later span', async () => {
    const traceId = randomHex(16);
    const now = nowNanos();
    const outcome = await send(transport, `limits-${transport}`, [
      span(traceId, 'start-2^63', 1n << 63n, (1n << 63n) + 1n),
      span(traceId, 'start-max', (1n << 64n) - 1n, (1n << 64n) - 1n),
      span(traceId, 'start-2107', 4_294_967_296n * 1_000_000_000n),
      span(traceId, 'event-2^63', now, now + 1n, [now, 1n << 63n]),
      span(traceId, 'kept', now, (1n << 64n) - 1n, [0n, (1n << 63n) - 1n]),
    ]);
    expect(outcome.status).toBe(200);
    expect(outcome.rejected).toBe(4);
    expect(outcome.message).toContain("span 0 of scope 'raw.scope': start_time_unix_nano is after 2106-02-07T06:28:15Z");
    expect(outcome.message).toContain("span 3 of scope 'raw.scope': events[1].time_unix_nano is 2^63 or more");
    // A later request from another client is stored: storage did not stop.
    const later = randomHex(16);
    expect((await send(transport, `limits-later-${transport}`, [span(later, 'later', nowNanos())])).rejected).toBe(0);
    expect(await storedNames(later, 1)).toEqual(['later']);
    expect(await storedNames(traceId, 1)).toEqual(['kept']);
    // The trace-ID lookup rows (a materialized view's) become visible a moment after the spans.
    const view = await waitFor(() => getJson<{ spans: SpanView[] }>(`${collector.apiUrl}/api/traces/${traceId}`), `trace ${traceId} through the API`);
    expect(view.spans[0]!.endTimeUnixNano).toBe(String((1n << 64n) - 1n));
    expect(view.spans[0]!.events.map((e) => e.timeUnixNano)).toEqual(['0', String((1n << 63n) - 1n)]);
  });

  it('keeps an end sent before its start: read back as sent, flagged, with duration 0', async () => {
    const traceId = randomHex(16);
    const start = nowNanos();
    const backwards = span(traceId, 'backwards', start, start - 1_234_567n);
    const noEnd = span(traceId, 'no-end', start + 5n, 0n);
    const normal = span(traceId, 'normal', start, start + 42n);
    const outcome = await send(transport, `end-before-start-${transport}`, [backwards, noEnd, normal]);
    expect([outcome.status, outcome.rejected]).toEqual([200, 0]);
    const view = await waitFor(async () => {
      const t = await getJson<{ spans: SpanView[] }>(`${collector.apiUrl}/api/traces/${traceId}`);
      return t && t.spans.length === 3 ? t : undefined;
    }, 'the trace');
    const byName = new Map(view.spans.map((s) => [s.name, s]));
    expect(byName.get('backwards')).toMatchObject({ startTimeUnixNano: String(start), endTimeUnixNano: String(start - 1_234_567n), durationNano: '0', endBeforeStart: true });
    expect(byName.get('no-end')).toMatchObject({ startTimeUnixNano: String(start + 5n), endTimeUnixNano: '0', durationNano: '0', endBeforeStart: true });
    expect(byName.get('normal')).toMatchObject({ endTimeUnixNano: String(start + 42n), durationNano: '42' });
    expect(byName.get('normal')).not.toHaveProperty('endBeforeStart');
  });
});

it('stores every span it acknowledged, none it refused (read from the stopped store)', async () => {
  const traceId = randomHex(16);
  const now = nowNanos();
  const outcome = await send('http-protobuf', 'final', [span(traceId, 'kept', now), span(traceId, 'old', now - 9n * DAY), span(traceId, 'huge', 1n << 63n)]);
  expect(outcome.rejected).toBe(2);
  const dataDir = await stopAndSettle(collector);
  const [rows] = await inspectStore<{ SpanName: string }>(dataDir, [`SELECT SpanName FROM default.otel_traces WHERE TraceId = '${traceId}'`]);
  expect(rows!.map((r) => r.SpanName)).toEqual(['kept']);
});
