import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../span-view.js';
import { goDuration } from './clock-skew.js';
import { jaegerSpanKind, jaegerTraceId, keyValue, sortKeyValues, toJaegerTrace } from './model.js';

const TRACE = 'a'.repeat(32);

/** A stored row as the span table returns it, with only what a test sets differing from a plain span. */
function row(fields: Partial<SpanRow> & Pick<SpanRow, 'SpanId'>): SpanRow {
  return {
    Start: '1700000000000001999',
    TraceId: TRACE,
    ParentSpanId: '',
    TraceState: '',
    SpanName: 'op',
    SpanKind: 'Unspecified',
    ServiceName: 'svc',
    ResourceAttributes: { 'service.name': 'svc' },
    ScopeName: '',
    ScopeVersion: '',
    SpanAttributes: {},
    Duration: '2999',
    StatusCode: 'Unset',
    StatusMessage: '',
    EventTimes: [],
    EventNames: [],
    EventAttributes: [],
    LinkTraceIds: [],
    LinkSpanIds: [],
    LinkTraceStates: [],
    LinkAttributes: [],
    SpanFlags: 1,
    DroppedAttributesCount: 0,
    DroppedEventsCount: 0,
    DroppedLinksCount: 0,
    ResourceSchemaUrl: '',
    ResourceDroppedAttributesCount: 0,
    ScopeAttributes: {},
    ScopeSchemaUrl: '',
    ScopeDroppedAttributesCount: 0,
    EventsDroppedAttributesCount: [],
    LinksFlags: [],
    LinksDroppedAttributesCount: [],
    AttributeKinds: {},
    EndBeforeStart: '0',
    ...fields,
  };
}

describe('stored spans as Jaeger JSON', () => {
  it('maps kind, status, scope and trace state to the tags the OTLP→Jaeger translator adds, sorted by key', () => {
    const [span] = toJaegerTrace([
      row({
        SpanId: '1'.repeat(16),
        SpanKind: 'Client',
        StatusCode: 'Error',
        StatusMessage: 'boom',
        ScopeName: 'lib',
        ScopeVersion: '2.0',
        TraceState: 'k=v',
        SpanAttributes: { 'a.key': 'x' },
      }),
    ]).spans;
    expect(span!.tags).toEqual([
      { key: 'a.key', type: 'string', value: 'x' },
      { key: 'error', type: 'bool', value: true },
      { key: 'otel.scope.name', type: 'string', value: 'lib' },
      { key: 'otel.scope.version', type: 'string', value: '2.0' },
      { key: 'otel.status_code', type: 'string', value: 'ERROR' },
      { key: 'otel.status_description', type: 'string', value: 'boom' },
      { key: 'span.kind', type: 'string', value: 'client' },
      { key: 'w3c.tracestate', type: 'string', value: 'k=v' },
    ]);
  });

  it('adds no kind or status tag for Unspecified and Unset, and OK without error for Ok', () => {
    expect(toJaegerTrace([row({ SpanId: '1'.repeat(16) })]).spans[0]!.tags).toEqual([]);
    expect(toJaegerTrace([row({ SpanId: '1'.repeat(16), StatusCode: 'Ok' })]).spans[0]!.tags).toEqual([{ key: 'otel.status_code', type: 'string', value: 'OK' }]);
  });

  it('types attribute values from their stored kinds', () => {
    expect(keyValue('b', 'true', 'bool')).toEqual({ key: 'b', type: 'bool', value: true });
    expect(keyValue('i', '42', 'int')).toEqual({ key: 'i', type: 'int64', value: 42 });
    expect(keyValue('big', '9007199254740993', 'int')).toEqual({ key: 'big', type: 'int64', value: '9007199254740993' });
    expect(keyValue('d', '0.25', 'double')).toEqual({ key: 'd', type: 'float64', value: 0.25 });
    expect(keyValue('raw', 'aGk=', 'bytes')).toEqual({ key: 'raw', type: 'binary', value: 'aGk=' });
    expect(keyValue('list', '["a",1]', 'array')).toEqual({ key: 'list', type: 'string', value: '["a",1]' });
    expect(keyValue('map', '{"k":1}', 'kvlist')).toEqual({ key: 'map', type: 'string', value: '{"k":1}' });
    expect(keyValue('none', '', 'empty')).toEqual({ key: 'none', type: 'string', value: '' });
    expect(keyValue('s', 'text', undefined)).toEqual({ key: 's', type: 'string', value: 'text' });
  });

  it('truncates start and duration to microseconds separately', () => {
    const [span] = toJaegerTrace([row({ SpanId: '1'.repeat(16) })]).spans;
    expect(span!.startTime).toBe(1_700_000_000_000_001);
    expect(span!.duration).toBe(2);
  });

  it('references: the parent first as CHILD_OF, links as FOLLOWS_FROM unless opentracing.ref_type says child_of, a link to the parent sets its type', () => {
    const parent = '1'.repeat(16);
    const other = `${'0'.repeat(16)}${'b'.repeat(16)}`;
    const [span] = toJaegerTrace([
      row({ SpanId: parent }),
      row({
        SpanId: '2'.repeat(16),
        ParentSpanId: parent,
        LinkTraceIds: [other, TRACE, other],
        LinkSpanIds: ['3'.repeat(16), parent, '4'.repeat(16)],
        LinkTraceStates: ['', '', ''],
        LinkAttributes: [{}, {}, { 'opentracing.ref_type': 'child_of' }],
      }),
    ]).spans.slice(1);
    expect(span!.references).toEqual([
      { refType: 'FOLLOWS_FROM', traceID: TRACE, spanID: parent },
      // A trace ID whose high half is zero prints as 16 digits.
      { refType: 'FOLLOWS_FROM', traceID: 'b'.repeat(16), spanID: '3'.repeat(16) },
      { refType: 'CHILD_OF', traceID: 'b'.repeat(16), spanID: '4'.repeat(16) },
    ]);
  });

  it('events become logs with the name as the `event` field first, unless an attribute is called event', () => {
    const [span] = toJaegerTrace([
      row({
        SpanId: '1'.repeat(16),
        EventTimes: ['1700000000000005000', '1700000000000006000', '1700000000000007000'],
        EventNames: ['boom', 'named', ''],
        EventAttributes: [{ z: '1', a: '2' }, { event: 'own', b: 'x' }, { c: 'y' }],
        AttributeKinds: { 'event.0:z': 'int' },
      }),
    ]).spans;
    expect(span!.logs).toEqual([
      { timestamp: 1_700_000_000_000_005, fields: [{ key: 'event', type: 'string', value: 'boom' }, { key: 'a', type: 'string', value: '2' }, { key: 'z', type: 'int64', value: 1 }] },
      { timestamp: 1_700_000_000_000_006, fields: [{ key: 'event', type: 'string', value: 'own' }, { key: 'b', type: 'string', value: 'x' }] },
      { timestamp: 1_700_000_000_000_007, fields: [{ key: 'c', type: 'string', value: 'y' }] },
    ]);
  });

  it('identical resources share one process; service.name is the process name, not a tag', () => {
    const trace = toJaegerTrace([
      row({ SpanId: '1'.repeat(16), ResourceAttributes: { 'service.name': 'svc', 'host.name': 'h1', pid: '7' }, AttributeKinds: { 'resource:pid': 'int' } }),
      row({ SpanId: '2'.repeat(16), ResourceAttributes: { 'service.name': 'svc', 'host.name': 'h1', pid: '7' }, AttributeKinds: { 'resource:pid': 'int' } }),
      row({ SpanId: '3'.repeat(16), ServiceName: 'other', ResourceAttributes: { 'service.name': 'other' } }),
    ]);
    expect(trace.spans.map((s) => s.processID)).toEqual(['p1', 'p1', 'p2']);
    expect(trace.processes).toEqual({
      p1: { serviceName: 'svc', tags: [{ key: 'host.name', type: 'string', value: 'h1' }, { key: 'pid', type: 'int64', value: 7 }] },
      p2: { serviceName: 'other', tags: [] },
    });
  });

  it('warns, as Jaeger does, about a span whose parent is not in the trace', () => {
    const trace = toJaegerTrace([row({ SpanId: '1'.repeat(16), ParentSpanId: '9'.repeat(16) }), row({ SpanId: '2'.repeat(16), ParentSpanId: '1'.repeat(16) })]);
    expect(trace.spans.map((s) => s.warnings)).toEqual([[`invalid parent span IDs=${'9'.repeat(16)}; skipping clock skew adjustment`], null]);
    expect(trace).toMatchObject({ traceID: TRACE, warnings: null });
  });

  it('ID and kind spellings', () => {
    expect(jaegerTraceId(`${'0'.repeat(16)}${'c'.repeat(16)}`)).toBe('c'.repeat(16));
    expect(jaegerTraceId(`1${'0'.repeat(31)}`)).toBe(`1${'0'.repeat(31)}`);
    expect(['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'].map(jaegerSpanKind)).toEqual(['', 'internal', 'server', 'client', 'producer', 'consumer']);
  });

  it('sorts tags by key, then type, then value', () => {
    const kvs = [
      { key: 'b', type: 'int64' as const, value: 1 },
      { key: 'a', type: 'string' as const, value: 'z' },
      { key: 'b', type: 'string' as const, value: 'y' },
      { key: 'a', type: 'string' as const, value: 'x' },
    ];
    expect(sortKeyValues(kvs).map((kv) => `${kv.key}:${kv.type}:${String(kv.value)}`)).toEqual(['a:string:x', 'a:string:z', 'b:string:y', 'b:int64:1']);
  });
});

describe('adjusters (raw=false) and raw=true', () => {
  const rows = [
    row({ SpanId: 'c1', SpanKind: 'Client', ServiceName: 'web', Start: '1700000000000000000', Duration: '200000000' }),
    row({ SpanId: 's1', ParentSpanId: 'c1', SpanKind: 'Server', ServiceName: 'pay', Start: '1699999999900000000', Duration: '80000000', EventTimes: ['1699999999950000000'], EventNames: ['e'], EventAttributes: [{}] }),
    row({ SpanId: 'o1', ParentSpanId: 'gone', ServiceName: 'pay' }),
  ];
  const offsets = new Map([[`${TRACE}/s1`, 160_000_000n]]);

  it("shifts a span by its clock-skew offset, its logs too, with Jaeger's warning", () => {
    const spans = new Map(toJaegerTrace(rows, { offsets }).spans.map((s) => [s.spanID, s]));
    expect(spans.get('s1')).toMatchObject({ startTime: 1700000000060000, duration: 80000, warnings: ["This span's timestamps were adjusted by 160ms"] });
    expect(spans.get('s1')!.logs[0]!.timestamp).toBe(1700000000110000);
    expect(spans.get('c1')).toMatchObject({ startTime: 1700000000000000, warnings: null });
    expect(spans.get('o1')!.warnings).toEqual(['invalid parent span IDs=gone; skipping clock skew adjustment']);
  });

  it('raw: stored times and no adjuster warnings', () => {
    const spans = new Map(toJaegerTrace(rows, { raw: true, offsets }).spans.map((s) => [s.spanID, s]));
    expect(spans.get('s1')).toMatchObject({ startTime: 1699999999900000, warnings: null });
    expect(spans.get('s1')!.logs[0]!.timestamp).toBe(1699999999950000);
    expect(spans.get('o1')!.warnings).toBeNull();
  });

  it("writes durations as Go's time.Duration does", () => {
    const cases: Array<[bigint, string]> = [
      [0n, '0s'], [1n, '1ns'], [999n, '999ns'], [1_500n, '1.5µs'], [160_000_000n, '160ms'], [1_000_001n, '1.000001ms'],
      [-3_000n, '-3µs'], [1_500_000_000n, '1.5s'], [60_000_000_000n, '1m0s'], [120_500_000_000n, '2m0.5s'], [3_600_000_000_000n, '1h0m0s'], [3_723_000_000_001n, '1h2m3.000000001s'],
    ];
    for (const [ns, text] of cases) expect(goDuration(ns), String(ns)).toBe(text);
  });
});
