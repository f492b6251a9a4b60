import { describe, expect, it } from 'vitest';
import { span, TRACE_A } from '../../analysis/trace-fixture.testing.js';
import type { CriticalPathAnswer, InsightsAnswer } from './analysis-answers.js';
import { compactPath, formatAnalysis, hotspotsOf, nameSpans } from './analyze-format.js';
import { colouredPaint, plainPaint } from './terminal.js';

const method = (fn: string, ns = 'Orders') => ({ 'code.namespace': ns, 'code.function.name': fn });

// root 0–100 ms; load ×2 (method Orders.load) 10–30 and 40–60; save 70–90 fails.
const spans = [
  span('r', '', 0, 100, { name: 'GET /orders', kind: 'Server', service: 'api' }),
  span('l1', 'r', 10, 30, { name: 'load', attributes: method('load') }),
  span('l2', 'r', 40, 60, { name: 'load', attributes: method('load') }),
  span('s', 'r', 70, 90, { name: 'save', service: 'db', error: 'timeout' }),
];
const ms = (n: number) => String(n * 1_000_000);
const ref = (s: (typeof spans)[number]) => ({ spanId: s.spanId, serviceName: s.serviceName, name: s.name });

const path: CriticalPathAnswer = {
  traceId: TRACE_A,
  rootSpanId: 'r',
  durationNano: ms(100),
  spanCount: 4,
  segments: [
    { ...ref(spans[0]!), startTimeUnixNano: '0', endTimeUnixNano: ms(70), durationNano: ms(70) },
    { ...ref(spans[3]!), startTimeUnixNano: ms(70), endTimeUnixNano: ms(90), durationNano: ms(20) },
    { ...ref(spans[0]!), startTimeUnixNano: ms(90), endTimeUnixNano: ms(100), durationNano: ms(10) },
  ],
  selfTimes: [
    { ...ref(spans[0]!), durationNano: ms(100), selfNano: ms(40), criticalNano: ms(80) },
    { ...ref(spans[1]!), durationNano: ms(20), selfNano: ms(20), criticalNano: '0' },
    { ...ref(spans[2]!), durationNano: ms(20), selfNano: ms(20), criticalNano: '0' },
    { ...ref(spans[3]!), durationNano: ms(20), selfNano: ms(20), criticalNano: ms(20) },
  ],
  asyncSpanIds: [],
};
const insights: InsightsAnswer = {
  traceId: TRACE_A,
  spanCount: 4,
  readRestricted: false,
  insights: [{ rule: 'error-origin', summary: 'save failed: timeout', spanIds: ['s'], spanCount: 1, impactNano: ms(20) }],
  completeness: { complete: true, orphans: [], unansweredClientSpans: [], missingRemoteParents: [] },
};

describe('hotspotsOf', () => {
  it('sums self time by method within the trace, most first (ties by name), with shares', () => {
    expect(hotspotsOf(path.selfTimes, spans)).toEqual([
      { serviceName: 'api', method: 'GET /orders', spans: 1, selfNano: 40_000_000n, share: 0.4 },
      { serviceName: 'svc', method: 'Orders.load', spans: 2, selfNano: 40_000_000n, share: 0.4 },
      { serviceName: 'db', method: 'save', spans: 1, selfNano: 20_000_000n, share: 0.2 },
    ]);
  });
});

describe('formatAnalysis', () => {
  it('prints the critical path indented by depth, insights naming spans, completeness and hotspots', () => {
    const text = formatAnalysis(path, insights, spans, plainPaint());
    expect(text).toBe(
      [
        `trace ${TRACE_A}  4 spans · 3 services · 100.00ms  1 error`,
        '',
        'Critical path  100.00ms, 3 segments in 2 steps',
        '    80.00ms  80.0%  GET /orders [api]',
        '    20.00ms  20.0%    save [db] ✗',
        '',
        'Insights  1',
        '  ✗ error-origin  save failed: timeout  impact 20.00ms',
        '      spans: save [db] (s)',
        '',
        'Completeness  complete',
        '',
        'Hotspots  self time by method in this trace',
        '    40.00ms  40.0%  GET /orders [api]',
        '    40.00ms  40.0%  Orders.load [svc] ×2',
        '    20.00ms  20.0%  save [db]',
        '',
      ].join('\n'),
    );
  });

  it('colours only with a coloured paint', () => {
    expect(formatAnalysis(path, insights, spans, plainPaint())).not.toContain('\u001b[');
    expect(formatAnalysis(path, insights, spans, colouredPaint())).toContain('\u001b[31m');
  });

  it('lists completeness findings with their reason', () => {
    const incomplete: InsightsAnswer = {
      ...insights,
      completeness: {
        complete: false,
        orphans: [{ spanId: 'l1', serviceName: 'svc', name: 'load', reason: 'header-lost', explanation: 'the caller did not propagate the header' }],
        unansweredClientSpans: [],
        missingRemoteParents: [],
      },
    };
    const text = formatAnalysis(path, incomplete, spans, plainPaint());
    expect(text).toContain('Completeness  1 finding\n  orphan: load [svc] l1  header-lost\n      the caller did not propagate the header\n');
  });
});

describe('nameSpans', () => {
  it('groups spans by name and service, names the first IDs and counts the rest', () => {
    const many = Array.from({ length: 6 }, (_, i) => span(`q${i}`, 'r', i, i + 1, { name: 'SELECT', service: 'db' }));
    const byId = new Map(many.map((s) => [s.spanId, s]));
    expect(nameSpans(many.map((s) => s.spanId), 8, byId)).toBe('SELECT [db] ×6 (q0, q1, q2, +3 more); +2 more spans');
    expect(nameSpans(['zz'], 1, byId)).toBe('(not readable) (zz)');
  });
});

describe('compactPath', () => {
  it('merges a span\'s segments and a loop\'s calls into one step each, in order, indented', () => {
    // r → m (method) → q ×3 in a loop, then p; segments alternate m and q.
    const loop = [
      span('r', '', 0, 100, { name: 'GET /', service: 'api' }),
      span('m', 'r', 0, 100, { name: 'place' }),
      span('q1', 'm', 10, 20, { name: 'SELECT', service: 'db' }),
      span('q2', 'm', 30, 40, { name: 'SELECT', service: 'db' }),
      span('q3', 'm', 50, 60, { name: 'SELECT', service: 'db' }),
      span('p', 'm', 60, 90, { name: 'pay', error: 'x' }),
    ];
    const seg = (id: string, from: number, to: number) => {
      const s = loop.find((x) => x.spanId === id)!;
      return { ...ref(s), startTimeUnixNano: ms(from), endTimeUnixNano: ms(to), durationNano: ms(to - from) };
    };
    const segments = [seg('m', 0, 10), seg('q1', 10, 20), seg('m', 20, 30), seg('q2', 30, 40), seg('m', 40, 50), seg('q3', 50, 60), seg('p', 60, 90), seg('m', 90, 100)];
    expect(compactPath(segments, loop)).toEqual([
      { serviceName: 'svc', name: 'place', depth: 0, nano: 40_000_000n, spans: 1, failed: false },
      { serviceName: 'db', name: 'SELECT', depth: 1, nano: 30_000_000n, spans: 3, failed: false },
      { serviceName: 'svc', name: 'pay', depth: 1, nano: 30_000_000n, spans: 1, failed: true },
    ]);
  });
});
