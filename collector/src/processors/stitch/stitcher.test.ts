import { describe, expect, it } from 'vitest';
import { SpanKind } from '../../model/span.js';
import { Stitcher, type StitcherOptions } from './stitcher.js';
import { span, spanId, threeServiceTrace, traceId } from './stitch-fixtures.js';

function stitcher(overrides: Partial<StitcherOptions> = {}) {
  return new Stitcher({
    flagOrphans: true,
    serviceGraph: true,
    clockSkew: true,
    correlation: true,
    linkTraces: true,
    maxLinks: 8,
    memoryWindowMs: 60_000,
    memoryMaxSpans: 10_000,
    memoryMaxCorrelationIds: 1_000,
    ...overrides,
  });
}
const piece = (spans: ReturnType<typeof span>[]) => ({ traceId: spans[0]!.traceId, spans });

describe('orphans', () => {
  it('flags and counts spans whose parent is not in the trace, not true roots', () => {
    const spans = [
      span({ trace: 1, id: 1, service: 'a', startMs: 0, endMs: 10 }),
      span({ trace: 1, id: 2, parent: 1, service: 'a', startMs: 1, endMs: 9 }),
      span({ trace: 1, id: 3, parent: 77, service: 'a', startMs: 1, endMs: 9 }), // parent never came
      span({ trace: 1, id: 4, parent: 3, service: 'a', startMs: 2, endMs: 8 }), // under the orphan: placed
    ];
    const out = stitcher().stitch([piece(spans)], 0);
    expect(out.orphans).toBe(1);
    expect(spans.map((s) => s.attributes['flowtrace.orphan'])).toEqual([undefined, undefined, 'true', undefined]);
    expect(spans[2]!.attributeKinds).toEqual({ 'flowtrace.orphan': 'bool' });
  });

  it('counts a root whose remote parent was never sent as an orphan', () => {
    const spans = [span({ trace: 1, id: 1, parent: 50, service: 'orders', kind: SpanKind.SERVER, startMs: 0, endMs: 10 })];
    expect(stitcher().stitch([piece(spans)], 0).orphans).toBe(1);
  });

  it('does not flag a late span whose parent left in an earlier piece, until the memory forgets it', () => {
    const s = stitcher();
    s.stitch([piece([span({ trace: 1, id: 1, service: 'a', startMs: 0, endMs: 10 })])], 0);
    const late = span({ trace: 1, id: 2, parent: 1, service: 'a', startMs: 1, endMs: 30_000 });
    expect(s.stitch([piece([late])], 10_000).orphans).toBe(0);
    expect(late.attributes['flowtrace.orphan']).toBeUndefined();
    s.expire(70_001); // the first piece was last seen at 10 000
    const later = span({ trace: 1, id: 3, parent: 1, service: 'a', startMs: 1, endMs: 70_000 });
    expect(s.stitch([piece([later])], 70_001).orphans).toBe(1);
  });

  it('counts without flagging when flagging is off', () => {
    const spans = [span({ trace: 1, id: 3, parent: 77, service: 'a', startMs: 1, endMs: 9 })];
    expect(stitcher({ flagOrphans: false }).stitch([piece(spans)], 0).orphans).toBe(1);
    expect(spans[0]!.attributes).toEqual({});
  });
});

describe('calls across pieces', () => {
  it('pairs a server span that arrives after its client’s trace left, in either order', () => {
    const s = stitcher();
    const client = span({ trace: 1, id: 1, service: 'api', kind: SpanKind.CLIENT, startMs: 0, endMs: 10 });
    const server = span({ trace: 1, id: 2, parent: 1, service: 'orders', kind: SpanKind.SERVER, startMs: 1, endMs: 9 });
    expect(s.stitch([piece([client])], 0).pairs).toEqual([]);
    expect(s.stitch([piece([server])], 6_000).pairs.map((p) => [p.caller.service, p.callee.service])).toEqual([['api', 'orders']]);

    const t = stitcher();
    const server2 = { ...server, traceId: traceId(2) };
    const client2 = { ...client, traceId: traceId(2) };
    const first = t.stitch([piece([server2])], 0);
    expect(first.pairs).toEqual([]);
    expect(first.orphans).toBe(1);
    expect(t.stitch([piece([client2])], 6_000).pairs).toHaveLength(1);
    expect(t.stitch([piece([{ ...client2, spanId: spanId(9) }])], 7_000).pairs).toEqual([]); // handed out once
  });

  it('writes clock-skew adjustments for the trace', () => {
    const spans = threeServiceTrace(1);
    for (const s of spans.filter((x) => x.resource.serviceName === 'orders')) {
      s.startTimeUnixNano -= 1_000_000_000n; // orders' clock runs a second behind
      s.endTimeUnixNano -= 1_000_000_000n;
    }
    const out = stitcher().stitch([piece(spans)], 0);
    expect(out.skew.map((s) => [s.traceId, s.adjustment.spanId, s.adjustment.offsetNs])).toEqual([[traceId(1), spanId(103), 1_000_000_000n]]);
  });

  it('does no pairing or skew when both are off', () => {
    const spans = threeServiceTrace(1);
    spans[2]!.startTimeUnixNano -= 1_000_000_000n;
    const out = stitcher({ serviceGraph: false, clockSkew: false }).stitch([piece(spans)], 0);
    expect(out.pairs).toEqual([]);
    expect(out.skew).toEqual([]);
  });
});

describe('correlation IDs', () => {
  // A proxy dropped traceparent: one request, two traces, one correlation ID.
  const halves = (startA = 0, startB = 200) => ({
    a: threeServiceTrace(1, startA, 'req-1'),
    b: [
      span({ trace: 2, id: 900, service: 'billing', kind: SpanKind.SERVER, startMs: startB, endMs: startB + 50, attributes: { 'flowtrace.correlation_id': 'req-1' } }),
      span({ trace: 2, id: 901, parent: 900, service: 'billing', startMs: startB + 5, endMs: startB + 40, attributes: { 'flowtrace.correlation_id': 'req-1' } }),
    ],
  });

  it('links the later trace’s root to the earlier one’s when both leave together', () => {
    const { a, b } = halves();
    const out = stitcher().stitch([piece(b), piece(a)], 0); // release order does not matter
    expect(out.joinsLinked).toBe(1);
    expect(a[0]!.links).toEqual([]);
    expect(b[0]!.links).toEqual([
      { traceId: traceId(1), spanId: spanId(101), traceState: '', flags: 0, attributes: { 'flowtrace.link.reason': 'correlation_id', 'flowtrace.correlation_id': 'req-1' }, droppedAttributesCount: 0 },
    ]);
    expect(b[1]!.links).toEqual([]);
    expect(out.sightings.map((s) => [s.correlationId, s.traceId, s.services.join(','), s.spans])).toEqual([
      ['req-1', traceId(1), 'frontend,orders,payments', 6],
      ['req-1', traceId(2), 'billing', 2],
    ]);
  });

  it('links across windows when the earlier half left first, within the memory window', () => {
    const { a, b } = halves();
    const s = stitcher();
    s.stitch([piece(a)], 0);
    const out = s.stitch([piece(b)], 30_000);
    expect(out.joinsLinked).toBe(1);
    expect(b[0]!.links.map((l) => l.traceId)).toEqual([traceId(1)]);
  });

  it('leaves the join to the table when the later half left first or the memory forgot', () => {
    const { a, b } = halves();
    const s = stitcher();
    s.stitch([piece(b)], 0);
    const out = s.stitch([piece(a)], 1_000);
    expect(out).toMatchObject({ joinsLinked: 0, joinsTableOnly: 1 });
    expect(a[0]!.links).toEqual([]);
    expect(out.sightings).toHaveLength(1);

    const c = halves();
    const t = stitcher();
    t.stitch([piece(c.a)], 0);
    t.expire(61_000);
    expect(t.stitch([piece(c.b)], 61_000).joinsLinked).toBe(0);
    expect(c.b[0]!.links).toEqual([]);
  });

  it('links nothing when linking is off, and never more than max_links', () => {
    const { a, b } = halves();
    const off = stitcher({ linkTraces: false }).stitch([piece(a), piece(b)], 0);
    expect(off).toMatchObject({ joinsLinked: 0, joinsTableOnly: 1 });
    expect(b[0]!.links).toEqual([]);

    const pieces = [1, 2, 3, 4].map((n) => [span({ trace: n, id: n, service: 's', startMs: n, endMs: n + 1, attributes: { 'flowtrace.correlation_id': 'retry' } })]);
    const out = stitcher({ maxLinks: 2 }).stitch(pieces.map(piece), 0);
    expect(pieces[3]![0]!.links.map((l) => l.traceId)).toEqual([traceId(3), traceId(2)]); // nearest first
    expect(out.joinsLinked).toBe(1 + 2 + 2);
  });

  it('does not link a trace to itself or twice when another piece of it comes later', () => {
    const { a, b } = halves();
    const s = stitcher();
    s.stitch([piece(a), piece(b)], 0);
    const lateB = [span({ trace: 2, id: 902, parent: 900, service: 'billing', startMs: 260, endMs: 270, attributes: { 'flowtrace.correlation_id': 'req-1' } })];
    const out = s.stitch([piece(lateB)], 1_000);
    expect(out.joinsLinked + out.joinsTableOnly).toBe(0);
    expect(lateB[0]!.links).toEqual([]);
    expect(out.sightings.map((x) => x.traceId)).toEqual([traceId(2)]);
  });
});
