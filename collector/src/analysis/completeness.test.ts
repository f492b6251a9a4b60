import { describe, expect, it } from 'vitest';
import { completeness } from './completeness.js';
import { span, TRACE_A } from './trace-fixture.testing.js';

const TRACE_B = 'b'.repeat(32);
const TRACE_C = 'c'.repeat(32);
const corr = (id: string) => ({ 'flowtrace.correlation_id': id });

describe('completeness: orphans', () => {
  it('finds a span whose parent is not in the trace and says why it is likely missing', () => {
    const trace = [span('root', '', 0, 100, { kind: 'Server' }), span('lost', 'gone', 10, 20, { service: 'worker', kind: 'Server' })];
    const result = completeness(trace);
    expect(result.complete).toBe(false);
    expect(result.orphans).toEqual([
      expect.objectContaining({ spanId: 'lost', parentSpanId: 'gone', serviceName: 'worker', remoteParent: true, reason: 'not-instrumented' }),
    ]);
  });

  it('tells the reasons apart: not sampled upstream, dropped, hidden by read rules, a local parent lost', () => {
    // Sampled flag off, no is-remote bits: a SERVER span, so a remote parent.
    const unsampled = completeness([span('s', 'p', 0, 10, { kind: 'Server', flags: 0 })]);
    expect(unsampled.orphans[0]).toMatchObject({ remoteParent: true, reason: 'not-sampled-upstream' });
    // The is-remote bits win over the kind: an INTERNAL span with a remote parent.
    expect(completeness([span('s', 'p', 0, 10, { flags: 0x301 })]).orphans[0]).toMatchObject({ remoteParent: true, reason: 'not-instrumented' });

    const local = [span('child', 'parent', 0, 10, { service: 'api' })];
    expect(completeness(local).orphans[0]).toMatchObject({ remoteParent: false, reason: 'unknown' });
    const dropped = completeness(local, { drops: [{ service: 'api', stage: 'sample', reason: 'sampled_out', droppedSpans: 3 }] });
    expect(dropped.orphans[0]).toMatchObject({ reason: 'dropped' });
    expect(dropped.orphans[0]!.explanation).toContain('3 spans dropped');
    // Drops of another service say nothing about a parent in this one.
    expect(completeness(local, { drops: [{ service: 'other', stage: 'filter', reason: 'filtered', droppedSpans: 3 }] }).orphans[0]!.reason).toBe('unknown');
    expect(completeness(local, { readRestricted: true }).orphans[0]!.reason).toBe('not-readable');
  });

  it('calls a whole trace complete', () => {
    const trace = [
      span('root', '', 0, 100, { kind: 'Server', service: 'front' }),
      span('call', 'root', 10, 50, { kind: 'Client', service: 'front', attributes: { 'http.request.method': 'GET', 'server.address': 'back' } }),
      span('served', 'call', 12, 48, { kind: 'Server', service: 'back' }),
      span('db', 'served', 13, 20, { kind: 'Client', service: 'back', attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT 1' } }),
    ];
    expect(completeness(trace)).toEqual({ complete: true, orphans: [], unansweredClientSpans: [], missingRemoteParents: [] });
  });
});

describe('completeness: client spans with no server span', () => {
  it('reports an HTTP call nobody answered, and a call that failed before any answer', () => {
    const trace = [
      span('root', '', 0, 100, { kind: 'Server', service: 'front' }),
      span('pay', 'root', 10, 50, { kind: 'Client', service: 'front', attributes: { 'http.request.method': 'POST', 'server.address': 'payments' } }),
      span('refused', 'root', 60, 61, { kind: 'Client', service: 'front', error: 'ECONNREFUSED', attributes: { 'http.request.method': 'GET', 'server.address': 'stock' } }),
    ];
    const result = completeness(trace);
    expect(result.unansweredClientSpans.map((f) => [f.spanId, f.reason])).toEqual([
      ['pay', 'not-instrumented'],
      ['refused', 'not-reached'],
    ]);
  });
});

describe('completeness: header lost, joined back by correlation ID', () => {
  // Trace A's call to `back` lost its traceparent header: `back` started trace B. Both carry correlation ID r-1.
  const a = [
    span('root', '', 0, 100, { kind: 'Server', service: 'front', attributes: corr('r-1') }),
    span('call', 'root', 10, 50, { kind: 'Client', service: 'front', attributes: { 'http.request.method': 'GET', 'server.address': 'back', ...corr('r-1') } }),
  ];
  const b = [span('broot', '', 12, 48, { traceId: TRACE_B, kind: 'Server', service: 'back', attributes: corr('r-1') })];
  // Same time, another request: must not be joined.
  const c = [span('croot', '', 11, 49, { traceId: TRACE_C, kind: 'Server', service: 'back', attributes: corr('r-2') })];

  it('names the server span of the other trace as the missing side of the client call', () => {
    const result = completeness(a, { correlatedSpans: [...b, ...c] });
    expect(result.unansweredClientSpans).toEqual([
      expect.objectContaining({ spanId: 'call', reason: 'header-lost', joinedTraceId: TRACE_B, joinedSpanId: 'broot' }),
    ]);
  });

  it('names the client span of the other trace as the missing remote parent of the root', () => {
    const result = completeness(b, { correlatedSpans: [...a, ...c] });
    expect(result.missingRemoteParents).toEqual([expect.objectContaining({ spanId: 'broot', reason: 'header-lost', joinedTraceId: TRACE_A, joinedSpanId: 'call' })]);
    expect(result.complete).toBe(false);
  });

  it('does not join across correlation IDs', () => {
    expect(completeness(c, { correlatedSpans: [...a] }).missingRemoteParents).toEqual([]);
    expect(completeness(a, { correlatedSpans: [...c] }).unansweredClientSpans[0]!.reason).toBe('not-instrumented');
  });
});
