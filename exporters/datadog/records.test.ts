import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { SpanKind } from '../../collector/src/model/span.js';
import { toDatadogSpan } from './mapping.js';
import { buildRequests, encodeRecord, readRecords, RecordFormatError, withTopLevel } from './records.js';
import { resource, span } from './spans.testing.js';

type Decoded = Array<Array<Record<string, unknown> & { metrics: Record<string, number>; span_id: bigint }>>;

function body(bytes: Uint8Array): Decoded {
  return decode(bytes, { useBigInt64: true }) as Decoded;
}

const TRACE_A = 'aaaaaaaaaaaaaaaa1111111111111111';
const TRACE_B = 'bbbbbbbbbbbbbbbb2222222222222222';

describe('records', () => {
  it('concatenate: several records read back as all their spans, in order', () => {
    const a = [span({ traceId: TRACE_A }), span({ traceId: TRACE_B })];
    const b = [span({ traceId: TRACE_A })];
    const read = readRecords(Buffer.concat([encodeRecord(a), encodeRecord(b), encodeRecord([])]));
    expect(read.map((s) => s.spanId)).toEqual([...a, ...b].map((s) => BigInt('0x' + s.spanId)));
    expect(read[0]).toMatchObject({ traceId: 0x1111111111111111n, parentId: 0n, service: 'checkout' });
    // Each span's bytes are the msgpack of the mapped span.
    const { metrics, ...rest } = decode(read[0].bytes, { useBigInt64: true }) as Record<string, unknown>;
    const expected = toDatadogSpan(a[0]);
    expect(rest).toMatchObject({ trace_id: expected.trace_id, span_id: expected.span_id, service: expected.service, name: expected.name, start: expected.start, duration: expected.duration });
    expect(metrics).toEqual({ ...expected.metrics });
  });

  it('refuses what is not a record, a version it does not know, and truncation', () => {
    const good = encodeRecord([span()]);
    expect(() => readRecords(Buffer.from('hello'))).toThrow(RecordFormatError);
    const other = Buffer.from(good);
    other[1] = 99;
    expect(() => readRecords(other)).toThrow(/unknown record version 99/);
    expect(() => readRecords(good.subarray(0, good.length - 1))).toThrow(/truncated/);
  });
});

describe('v0.4 request bodies', () => {
  it('group spans by trace into chunks and mark top-level spans across records', () => {
    const root = span({ traceId: TRACE_A, kind: SpanKind.SERVER, resource: resource('frontend') });
    const child = span({ traceId: TRACE_A, parentSpanId: root.spanId, kind: SpanKind.CLIENT, resource: resource('frontend') });
    const remote = span({ traceId: TRACE_A, parentSpanId: child.spanId, kind: SpanKind.SERVER, resource: resource('payments') });
    const other = span({ traceId: TRACE_B, parentSpanId: 'ffffffffffffffff' });
    // The parent/child pairs are split across records: only the batch as a whole knows them.
    const payload = Buffer.concat([encodeRecord([child, other]), encodeRecord([remote]), encodeRecord([root])]);
    const requests = buildRequests(readRecords(payload), 1 << 20);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ traceCount: 2, spanCount: 4 });
    const traces = body(requests[0].body);
    expect(traces.map((t) => t.map((s) => s.span_id))).toEqual([
      [child, remote, root].map((s) => BigInt('0x' + s.spanId)),
      [BigInt('0x' + other.spanId)],
    ]);
    const [[c, r, ro], [o]] = traces;
    expect(c.metrics).not.toHaveProperty('_top_level'); // parent in the same service
    expect(r.metrics._top_level).toBe(1); // parent in another service
    expect(ro.metrics._top_level).toBe(1); // root
    expect(o.metrics._top_level).toBe(1); // parent not in the batch
    expect(r.metrics).toMatchObject({ _sampling_priority_v1: 1, '_dd.measured': 1 });
  });

  it('split at max bytes, a trace continuing as a chunk of the next body, and lose nothing', () => {
    const spans = Array.from({ length: 40 }, (_, i) => span({ traceId: i < 30 ? TRACE_A : TRACE_B, name: `op-${i}`, attributes: { pad: 'x'.repeat(200) } }));
    const read = readRecords(encodeRecord(spans));
    const max = 4096;
    const requests = buildRequests(read, max);
    expect(requests.length).toBeGreaterThan(2);
    for (const r of requests) expect(r.body.length).toBeLessThanOrEqual(max);
    const all = requests.flatMap((r) => body(r.body).flat());
    expect(all.map((s) => s.resource)).toEqual(spans.map((s) => s.name)); // the span name is the resource here
    expect(requests.reduce((n, r) => n + r.spanCount, 0)).toBe(40);
    for (const r of requests) expect(body(r.body)).toHaveLength(r.traceCount);
    // Deterministic: a retry of the same payload splits the same way.
    expect(buildRequests(read, max).map((r) => Buffer.from(r.body).toString('hex'))).toEqual(requests.map((r) => Buffer.from(r.body).toString('hex')));
  });

  it('send a span larger than the limit alone', () => {
    const big = span({ attributes: { pad: 'x'.repeat(5000) } });
    const requests = buildRequests(readRecords(encodeRecord([span(), big, span()])), 2048);
    expect(requests.map((r) => r.spanCount)).toEqual([1, 1, 1]);
    expect(requests[1].body.length).toBeGreaterThan(2048);
  });

  it('write array headers of every size (fixarray, array16)', () => {
    const spans = Array.from({ length: 20 }, () => span({ traceId: TRACE_A }));
    const [request] = buildRequests(readRecords(encodeRecord(spans)), 1 << 20);
    expect(body(request.body)[0]).toHaveLength(20);
  });
});

describe('withTopLevel', () => {
  it('adds _top_level to a metrics map of any header size, keeping the rest of the span', () => {
    for (const n of [0, 14, 15, 16, 70_000]) {
      const metrics = Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
      const spanBytes = encode({ service: 's', meta: { a: 'b' }, metrics }, { useBigInt64: true });
      const metricsAt = spanBytes.length - encode(metrics).length;
      const out = decode(withTopLevel(spanBytes, metricsAt)) as { service: string; meta: object; metrics: Record<string, number> };
      expect(out.service).toBe('s');
      expect(out.meta).toEqual({ a: 'b' });
      expect(Object.keys(out.metrics)).toHaveLength(n + 1);
      expect(out.metrics._top_level).toBe(1);
    }
  });

  it('refuses an offset that is not a map', () => {
    expect(() => withTopLevel(Uint8Array.of(0x81, 0xa1, 0x61, 0x01), 3)).toThrow(RecordFormatError);
  });
});
