import { describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import type { RetentionPolicy } from '../../storage/retention/policy.js';
import { encodeTraceRequest } from '../../../../exporters/otlp/encoder.js';
import type { DecodedTraces } from './decoded-traces.js';
import { decodeTraceRequestJson } from './json-decoder.js';
import { WireWriter, hexBytes, spanIdOf, traceIdOf } from './otlp-fixtures.js';
import { decodeTraceRequest } from './proto-decoder.js';
import type { DecodeOptions } from './span-validation.js';

/** A fixed clock: 2026-01-01T00:00:00Z. */
const NOW_MS = Date.UTC(2026, 0, 1);
const DAY = 86_400_000_000_000n;
const NOW = BigInt(NOW_MS) * 1_000_000n;

const POLICY: RetentionPolicy = {
  defaultDays: 7,
  rules: [
    { name: 'errors', match: { status: 'error' }, days: 30 },
    { name: 'payments', match: { services: ['payments'] }, days: 90 },
    { name: 'x-methods', match: { services: ['x'], methodSpans: true }, days: 2 },
  ],
};
const OPTIONS: DecodeOptions = { retention: POLICY, now: () => NOW_MS };

interface TestSpan {
  name: string;
  service: string;
  ageDays: bigint;
  kind?: number;
  status?: number;
  method?: boolean;
}

const resources = new Map<string, Span['resource']>();
function toSpan(s: TestSpan, i: number): Span {
  let resource = resources.get(s.service);
  if (!resource) resources.set(s.service, (resource = { attributes: { 'service.name': s.service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: s.service }));
  const start = NOW - s.ageDays * DAY;
  return {
    resource,
    scope: { name: 'scope', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    traceId: (i + 1).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: s.name,
    kind: s.kind ?? 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1000n,
    attributes: s.method ? { 'code.function.name': 'Orders.load' } : {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: s.status ?? 0,
    statusMessage: '',
  };
}

function json(spans: Span[]): unknown {
  return {
    resourceSpans: spans.map((s) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: s.resource.serviceName } }] },
      scopeSpans: [
        {
          scope: { name: 'scope' },
          spans: [
            {
              traceId: s.traceId,
              spanId: s.spanId,
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: s.startTimeUnixNano.toString(),
              endTimeUnixNano: s.endTimeUnixNano.toString(),
              attributes: Object.entries(s.attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
              status: { code: s.statusCode },
            },
          ],
        },
      ],
    })),
  };
}

const decoders: Array<[string, (spans: Span[]) => DecodedTraces]> = [
  ['protobuf', (spans) => decodeTraceRequest(encodeTraceRequest(spans), OPTIONS)],
  ['JSON', (spans) => decodeTraceRequestJson(json(spans), OPTIONS)],
];

describe.each(decoders)('%s decoder: the age limit is the first retention rule a span matches', (_, decode) => {
  it('accepts and refuses each span by its own rule, and names the rule in the message', () => {
    const spans: TestSpan[] = [
      { name: 'error-20d', service: 'shop', ageDays: 20n, status: 2 },
      { name: 'error-31d', service: 'shop', ageDays: 31n, status: 2 },
      { name: 'plain-6d', service: 'shop', ageDays: 6n },
      { name: 'plain-8d', service: 'shop', ageDays: 8n },
      { name: 'payments-80d', service: 'payments', ageDays: 80n },
      { name: 'payments-error-40d', service: 'payments', ageDays: 40n, status: 2 }, // errors come first: 30 days
      { name: 'x-method-1d', service: 'x', ageDays: 1n, kind: 1, method: true },
      { name: 'x-method-3d', service: 'x', ageDays: 3n, kind: 1, method: true },
      { name: 'x-internal-3d', service: 'x', ageDays: 3n, kind: 1 },
      { name: 'x-server-method-attr-3d', service: 'x', ageDays: 3n, kind: 2, method: true }, // not INTERNAL: no method span
      { name: 'y-method-3d', service: 'y', ageDays: 3n, kind: 1, method: true },
    ];
    const decoded = decode(spans.map(toSpan));
    expect(decoded.spans.map((s) => s.name)).toEqual(['error-20d', 'plain-6d', 'payments-80d', 'x-method-1d', 'x-internal-3d', 'x-server-method-attr-3d', 'y-method-3d']);
    expect(decoded.rejectedSpans).toBe(4);
    expect(decoded.rejectionMessage).toBe(
      [
        "2 spans older than retention rule 'errors' (30 days) less a 1 h margin (started before 2025-12-02T01:00:00.000Z): the store would delete them before they were stored",
        '1 span older than retention_days=7 less a 1 h margin (started before 2025-12-25T01:00:00.000Z): the store would delete them before they were stored',
        "1 span older than retention rule 'x-methods' (2 days) less a 1 h margin (started before 2025-12-30T01:00:00.000Z): the store would delete them before they were stored",
      ].join('; '),
    );
    expect(decoded.rejections).toEqual(
      expect.arrayContaining([
        { service: 'shop', reason: 'too_old', spans: 2 },
        { service: 'payments', reason: 'too_old', spans: 1 },
        { service: 'x', reason: 'too_old', spans: 1 },
      ]),
    );
  });
});

describe('protobuf decoder: a resource sent after its spans', () => {
  /** One ResourceSpans with its `resource` field after `scope_spans` on the wire. */
  function resourceLast(service: string, spans: Array<{ name: string; ageDays: bigint; kind: number; method: boolean }>): Uint8Array {
    const scopeSpans = new WireWriter().field(1, new WireWriter().field(1, 'scope'));
    spans.forEach((s, i) => {
      const start = NOW - s.ageDays * DAY;
      const span = new WireWriter().field(1, hexBytes(traceIdOf(1))).field(2, hexBytes(spanIdOf(i + 1))).field(5, s.name);
      span.tag(6, 0).varint(s.kind);
      span.tag(7, 1).fixed64(start).tag(8, 1).fixed64(start + 1000n);
      if (s.method) span.field(9, new WireWriter().field(1, 'code.function.name').field(2, new WireWriter().field(1, 'Orders.load')));
      scopeSpans.field(2, span);
    });
    const resource = new WireWriter().field(1, new WireWriter().field(1, 'service.name').field(2, new WireWriter().field(1, service)));
    return new WireWriter().field(1, new WireWriter().field(2, scopeSpans).field(1, resource)).finish();
  }

  it('still judges each span by its service\'s rule', () => {
    const payments = decodeTraceRequest(resourceLast('payments', [{ name: 'payments-80d', ageDays: 80n, kind: 2, method: false }]), OPTIONS);
    expect(payments.spans.map((s) => s.name)).toEqual(['payments-80d']);
    expect(payments.spans[0]!.resource.serviceName).toBe('payments');
    const x = decodeTraceRequest(
      resourceLast('x', [
        { name: 'x-method-3d', ageDays: 3n, kind: 1, method: true },
        { name: 'x-internal-3d', ageDays: 3n, kind: 1, method: false },
      ]),
      OPTIONS,
    );
    expect(x.spans.map((s) => s.name)).toEqual(['x-internal-3d']);
    expect(x.rejectionMessage).toContain("1 span older than retention rule 'x-methods' (2 days)");
    expect(x.rejections).toEqual([{ service: 'x', reason: 'too_old', spans: 1 }]);
  });
});
