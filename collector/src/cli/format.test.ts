import { describe, expect, it } from 'vitest';
import type { SpanView } from '../query/span-view.js';
import { formatCsv, formatDuration, formatTable, formatTraceTree, visibleStrings } from './format.js';

function span(id: string, parent: string, name: string, start: number, duration: number, extra: Partial<SpanView> = {}): SpanView {
  return {
    traceId: 't',
    spanId: id,
    parentSpanId: parent,
    traceState: '',
    flags: 0,
    name,
    kind: 'Internal',
    serviceName: 'svc',
    startTimeUnixNano: String(1_000_000_000 + start),
    endTimeUnixNano: String(1_000_000_000 + start + duration),
    durationNano: String(duration),
    attributes: {},
    droppedAttributesCount: 0,
    resource: { attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 'Unset', message: '' },
    ...extra,
  };
}

describe('CLI formatting', () => {
  it('pads tables and renders objects as JSON', () => {
    expect(formatTable(['a', 'bb'], [{ a: 1, bb: { x: 1 } }, { a: 'long value', bb: null }])).toBe(
      'a           bb\n──────────  ───────\n1           {"x":1}\nlong value\n',
    );
  });

  it('quotes CSV fields that need it', () => {
    expect(formatCsv(['a', 'b'], [{ a: 'x,y', b: 'say "hi"' }, { a: 'line\nbreak', b: 3 }])).toBe('a,b\n"x,y","say ""hi"""\n"line\nbreak",3\n');
  });

  it('prints durations in readable units', () => {
    expect([830n, 12_400n, 3_210_000n, 1_500_000_000n].map(formatDuration)).toEqual(['830ns', '12.4µs', '3.21ms', '1.50s']);
  });

  it('draws a trace as a tree, marking errors and orphans', () => {
    const tree = formatTraceTree('t', [
      span('a', '', 'GET /', 0, 10_000_000, { kind: 'Server' }),
      span('b', 'a', 'Svc.find', 1_000_000, 5_000_000, { status: { code: 'Error', message: 'boom' } }),
      span('c', 'b', 'db.query', 2_000_000, 1_000_000, { kind: 'Client' }),
      span('d', 'a', 'Svc.render', 7_000_000, 2_000_000),
      span('e', 'zz', 'late', 8_000_000, 1_000),
    ]);
    expect(tree).toBe(
      [
        'trace t  5 spans, 1 services, 10.00ms',
        '├─ GET /  [svc · Server]  10.00ms  @+0ns',
        '│  ├─ Svc.find  [svc · Internal]  5.00ms  @+1.00ms  ✗ boom',
        '│  │  └─ db.query  [svc · Client]  1.00ms  @+2.00ms',
        '│  └─ Svc.render  [svc · Internal]  2.00ms  @+7.00ms',
        '└─ late  [svc · Internal]  1.0µs  @+8.00ms  (parent not in trace)',
        '',
      ].join('\n'),
    );
  });

  it('shows control characters in every string of an answer as escapes, keeping other values', () => {
    const answer = { spans: [{ name: 'GET /\x1b]0;owned\x07', attributes: { 'k\n': 'v\r', n: 1, big: 2n, ok: true } }], total: 3n };
    expect(visibleStrings(answer)).toEqual({ spans: [{ name: 'GET /\\x1b]0;owned\\x07', attributes: { 'k\\n': 'v\\r', n: 1, big: 2n, ok: true } }], total: 3n });
  });
});
