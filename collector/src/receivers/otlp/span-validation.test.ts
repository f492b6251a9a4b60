import { describe, expect, it } from 'vitest';
import type { DecodedTraces } from './decoded-traces.js';
import { decodeTraceRequestJson } from './json-decoder.js';
import { WireWriter, hexBytes, spanIdOf, traceIdOf } from './otlp-fixtures.js';
import { decodeTraceRequest } from './proto-decoder.js';
import { decodeTraceRequestInSlices } from './sliced-decoder.js';
import { encodeRowBinary } from '../../../../exporters/clickhouse/rowbinary.js';
import { encodeRecord, readRecords } from '../../../../exporters/datadog/records.js';
import { encodeTraceRequest } from '../../../../exporters/otlp/encoder.js';
import { EVENT_TIME_LIMIT_NANOS, RETENTION_MARGIN_MS, START_TIME_LIMIT_NANOS, type DecodeOptions } from './span-validation.js';

/** A fixed clock: 2026-01-01T00:00:00Z. */
const NOW_MS = Date.UTC(2026, 0, 1);
const NOW_NANOS = BigInt(NOW_MS) * 1_000_000n;
const DAY_NANOS = 86_400_000_000_000n;
const RETENTION: DecodeOptions = { retentionDays: 7, now: () => NOW_MS };
/** The first start time kept with a 7-day retention at NOW. */
const OLDEST_KEPT = NOW_NANOS - 7n * DAY_NANOS + BigInt(RETENTION_MARGIN_MS) * 1_000_000n;

interface TestSpan {
  name: string;
  start: bigint;
  end?: bigint;
  events?: bigint[];
  /** A missing trace ID, to mix an ID rejection in. */
  noTraceId?: boolean;
}

interface TestResource {
  service: string;
  spans: TestSpan[];
}

/** The request as protobuf; `serviceLast` puts the resource after its spans on the wire. */
function protobuf(resources: TestResource[], serviceLast = false): Uint8Array {
  const request = new WireWriter();
  resources.forEach((resource, r) => {
    const scopeSpans = new WireWriter().field(1, new WireWriter().field(1, 'wire.scope'));
    resource.spans.forEach((s, i) => {
      const span = new WireWriter();
      if (!s.noTraceId) span.field(1, hexBytes(traceIdOf(r + 1)));
      span.field(2, hexBytes(spanIdOf(i + 1))).field(5, s.name);
      span.tag(7, 1).fixed64(s.start).tag(8, 1).fixed64(s.end ?? s.start);
      for (const time of s.events ?? []) span.field(11, new WireWriter().tag(1, 1).fixed64(time).field(2, 'ev'));
      scopeSpans.field(2, span);
    });
    const serviceName = new WireWriter().field(1, 'service.name').field(2, new WireWriter().field(1, resource.service));
    const res = new WireWriter().field(1, serviceName);
    const resourceSpans = serviceLast ? new WireWriter().field(2, scopeSpans).field(1, res) : new WireWriter().field(1, res).field(2, scopeSpans);
    request.field(1, resourceSpans);
  });
  return request.finish();
}

/** The same request as OTLP/JSON (times as decimal strings, as protobuf JSON writes them). */
function json(resources: TestResource[]): unknown {
  return {
    resourceSpans: resources.map((resource, r) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: resource.service } }] },
      scopeSpans: [
        {
          scope: { name: 'wire.scope' },
          spans: resource.spans.map((s, i) => ({
            ...(s.noTraceId ? {} : { traceId: traceIdOf(r + 1) }),
            spanId: spanIdOf(i + 1),
            name: s.name,
            startTimeUnixNano: s.start.toString(),
            endTimeUnixNano: (s.end ?? s.start).toString(),
            events: (s.events ?? []).map((time) => ({ timeUnixNano: time.toString(), name: 'ev' })),
          })),
        },
      ],
    })),
  };
}

const decoders: Array<[string, (resources: TestResource[], options?: DecodeOptions) => DecodedTraces]> = [
  ['protobuf', (resources, options) => decodeTraceRequest(protobuf(resources), options)],
  ['JSON', (resources, options) => decodeTraceRequestJson(json(resources), options)],
];

const names = (decoded: DecodedTraces) => decoded.spans.map((s) => s.name);

describe.each(decoders)('%s decoder: spans the store could not keep are refused per span', (_, decode) => {
  it('refuses spans older than the retention (less the margin) as too old, keeps younger ones', () => {
    const decoded = decode(
      [
        {
          service: 'svc',
          spans: [
            { name: 'eight-days', start: NOW_NANOS - 8n * DAY_NANOS },
            { name: 'just-too-old', start: OLDEST_KEPT - 1n },
            { name: 'oldest-kept', start: OLDEST_KEPT },
            { name: 'six-days', start: NOW_NANOS - 6n * DAY_NANOS },
            { name: 'future', start: NOW_NANOS + DAY_NANOS },
          ],
        },
      ],
      RETENTION,
    );
    expect(names(decoded)).toEqual(['oldest-kept', 'six-days', 'future']);
    expect(decoded.rejectedSpans).toBe(2);
    expect(decoded.rejectionMessage).toBe(
      '2 spans older than retention_days=7 less a 1 h margin (started before 2025-12-25T01:00:00.000Z): the store would delete them before they were stored',
    );
    expect(decoded.rejections).toEqual([{ service: 'svc', reason: 'too_old', spans: 2 }]);
  });

  it('refuses spans without a start time when the retention applies (the store would expire them at once)', () => {
    const decoded = decode([{ service: 'svc', spans: [{ name: 'no-start', start: 0n, end: NOW_NANOS }, { name: 'ok', start: NOW_NANOS }] }], RETENTION);
    expect(names(decoded)).toEqual(['ok']);
    expect(decoded.rejectionMessage).toBe('1 span without a start time (start_time_unix_nano is 0)');
    expect(decoded.rejections).toEqual([{ service: 'svc', reason: 'invalid', spans: 1 }]);
  });

  it('checks no age without a retention (tools, tests)', () => {
    const decoded = decode([{ service: 'svc', spans: [{ name: 'no-start', start: 0n }, { name: 'old', start: 1n }] }]);
    expect(names(decoded)).toEqual(['no-start', 'old']);
    expect(decoded.rejectedSpans).toBe(0);
  });

  it('refuses a start time the store cannot hold (after 2106-02-07T06:28:15Z) and an event time of 2^63 or more, with or without a retention', () => {
    for (const options of [undefined, RETENTION]) {
      const decoded = decode(
        [
          {
            service: 'svc',
            spans: [
              { name: 'last-start', start: START_TIME_LIMIT_NANOS - 1n },
              { name: 'start-2106', start: START_TIME_LIMIT_NANOS },
              { name: 'start-max', start: (1n << 64n) - 1n },
              { name: 'last-event', start: NOW_NANOS, events: [0n, EVENT_TIME_LIMIT_NANOS - 1n] },
              { name: 'event-2^63', start: NOW_NANOS, events: [NOW_NANOS, EVENT_TIME_LIMIT_NANOS] },
              { name: 'end-max', start: NOW_NANOS, end: (1n << 64n) - 1n },
            ],
          },
        ],
        options,
      );
      expect(names(decoded)).toEqual(['last-start', 'last-event', 'end-max']);
      expect(decoded.rejectionMessage).toBe(
        [
          "span 1 of scope 'wire.scope': start_time_unix_nano is after 2106-02-07T06:28:15Z, the latest start the store can hold",
          "span 2 of scope 'wire.scope': start_time_unix_nano is after 2106-02-07T06:28:15Z, the latest start the store can hold",
          "span 4 of scope 'wire.scope': events[1].time_unix_nano is 2^63 or more, beyond what the store can hold",
        ].join('; '),
      );
      expect(decoded.rejections).toEqual([{ service: 'svc', reason: 'invalid', spans: 3 }]);
    }
  });

  it('combines ID and time rejections in one message and counts them per service and reason', () => {
    const decoded = decode(
      [
        {
          service: 'checkout',
          spans: [
            { name: 'no-trace-id', start: NOW_NANOS, noTraceId: true },
            { name: 'old-1', start: 1_000n },
            { name: 'kept', start: NOW_NANOS },
            { name: 'no-start', start: 0n },
          ],
        },
        { service: 'cart', spans: [{ name: 'old-2', start: 1_000n }, { name: 'kept-2', start: NOW_NANOS }] },
      ],
      RETENTION,
    );
    expect(names(decoded)).toEqual(['kept', 'kept-2']);
    expect(decoded.rejectedSpans).toBe(4);
    expect(decoded.rejectionMessage).toBe(
      [
        "span 0 of scope 'wire.scope': trace_id is missing",
        '2 spans older than retention_days=7 less a 1 h margin (started before 2025-12-25T01:00:00.000Z): the store would delete them before they were stored',
        '1 span without a start time (start_time_unix_nano is 0)',
      ].join('; '),
    );
    expect(decoded.rejections).toEqual([
      { service: 'checkout', reason: 'invalid', spans: 2 },
      { service: 'checkout', reason: 'too_old', spans: 1 },
      { service: 'cart', reason: 'too_old', spans: 1 },
    ]);
  });
});

describe('protobuf decoder: rejection bookkeeping', () => {
  it("counts rejections under the resource's service even when service.name comes after the spans", () => {
    const decoded = decodeTraceRequest(protobuf([{ service: 'late', spans: [{ name: 'old', start: 5n }] }], true), RETENTION);
    expect(decoded.rejections).toEqual([{ service: 'late', reason: 'too_old', spans: 1 }]);
  });

  it('counts a resource rejected for invalid UTF-8 under its service', () => {
    const bad = new WireWriter().field(1, 'service.name').field(2, new WireWriter().field(1, 'svc'));
    const badVersion = new WireWriter().field(1, 'ver').field(2, new WireWriter().field(1, Uint8Array.from([0xc3, 0x28])));
    const span = new WireWriter().field(1, hexBytes(traceIdOf(1))).field(2, hexBytes(spanIdOf(1))).tag(7, 1).fixed64(NOW_NANOS);
    const request = new WireWriter()
      .field(1, new WireWriter().field(1, new WireWriter().field(1, bad).field(1, badVersion)).field(2, new WireWriter().field(2, span).field(2, span)))
      .finish();
    const decoded = decodeTraceRequest(request, RETENTION);
    expect(decoded.rejectedSpans).toBe(2);
    expect(decoded.rejections).toEqual([{ service: 'svc', reason: 'invalid', spans: 2 }]);
  });

  it('keeps the rejections of every slice of a large request', async () => {
    const spans: TestSpan[] = [];
    for (let i = 0; i < 200; i++) spans.push({ name: `s${i}`, start: i % 4 === 0 ? 7n : NOW_NANOS });
    const bytes = protobuf([{ service: 'big', spans }]);
    const decoded = await decodeTraceRequestInSlices(bytes, 500, RETENTION);
    expect(decoded.spans).toHaveLength(150);
    expect(decoded.rejectedSpans).toBe(50);
    expect(decoded.rejections!.reduce((n, r) => n + r.spans, 0)).toBe(50);
    expect(new Set(decoded.rejections!.map((r) => `${r.service}/${r.reason}`))).toEqual(new Set(['big/too_old']));
  });
});

describe('every exporter encodes every span the decoders accept', () => {
  it('at the edges of every time and count: ClickHouse RowBinary, OTLP protobuf (round trip), Datadog records', () => {
    const edges = [0n, 1n, OLDEST_KEPT, START_TIME_LIMIT_NANOS - 1n, EVENT_TIME_LIMIT_NANOS - 1n, (1n << 64n) - 1n];
    const spans: TestSpan[] = [];
    const eventEdges = edges.filter((t) => t < EVENT_TIME_LIMIT_NANOS);
    for (const start of edges) for (const end of edges) spans.push({ name: `${start}-${end}`, start, end, events: eventEdges });
    const accepted = decodeTraceRequest(protobuf([{ service: 'edges', spans }])).spans;
    // Without a retention, every start below the store's limit is accepted, whatever its end.
    expect(accepted).toHaveLength(edges.filter((t) => t < START_TIME_LIMIT_NANOS).length * edges.length);
    for (const span of accepted) {
      span.droppedAttributesCount = 0xffffffff;
      span.droppedEventsCount = 0xffffffff;
      span.droppedLinksCount = 0xffffffff;
      span.flags = 0xffffffff;
      span.kind = -1;
      span.statusCode = 99;
      span.attributes = { min: '-9223372036854775808', max: '9223372036854775807' };
      span.attributeKinds = { min: 'int', max: 'int' };
    }
    expect(encodeRowBinary(accepted).length).toBeGreaterThan(0);
    const again = decodeTraceRequest(encodeTraceRequest(accepted));
    expect(again.spans.map((s) => [s.startTimeUnixNano, s.endTimeUnixNano, s.events.map((e) => e.timeUnixNano)])).toEqual(
      accepted.map((s) => [s.startTimeUnixNano, s.endTimeUnixNano, s.events.map((e) => e.timeUnixNano)]),
    );
    expect(readRecords(encodeRecord(accepted))).toHaveLength(accepted.length);
  });
});
