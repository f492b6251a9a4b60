import { describe, expect, it } from 'vitest';
import { span, TRACE_A } from '../analysis/trace-fixture.testing.js';
import { MERGE_MIN_SIBLINGS, traceOutline } from './outline.js';
import { ToolInputError } from './paging.js';

/**
 * root (0-100 ms, api)
 *   load (10-60, api)            self 50 - 5×6 = 20
 *     SELECT item ×5 (6 ms each, db), the 4th one failed
 *   render (60-90, api) ERR
 *     format (61-62, api)
 */
function trace() {
  const selects = [0, 1, 2, 3, 4].map((i) => span(`s${i}`, 'load', 12 + i * 8, 18 + i * 8, { service: 'db', name: 'SELECT item', error: i === 3 ? 'deadlock' : undefined }));
  return [
    span('root', '', 0, 100, { service: 'api', name: 'GET /orders' }),
    span('load', 'root', 10, 60, { service: 'api' }),
    ...selects,
    span('render', 'root', 60, 90, { service: 'api', error: 'boom' }),
    span('format', 'render', 61, 62, { service: 'api' }),
  ];
}

describe('traceOutline', () => {
  it('lists spans depth-first, indented, with path, service, name, duration, self time and error marks', () => {
    const { lines } = traceOutline(TRACE_A, trace());
    expect(lines).toEqual([
      '1 api "GET /orders" 100.00ms self=20.00ms #root',
      ' 1.1 api load 50.00ms self=20.00ms #load',
      '  1.1.1-5 ×5 db "SELECT item" total=30.00ms max=6.00ms ERR×1 #s0..#s4',
      ' 1.2 api render 30.00ms self=29.00ms ERR #render',
      '  1.2.1 api format 1.00ms self=1.00ms #format',
    ]);
  });

  it('heads every outline with trace aggregates', () => {
    const { header } = traceOutline(TRACE_A, trace());
    expect(header[0]).toBe(`# trace ${TRACE_A}: 9 of 9 spans, 1 top span(s), duration 100.00ms, 2 error span(s), max depth 2`);
    expect(header[1]).toBe('# services (spans): db(5), api(4)');
  });

  it(`merges only runs of at least ${MERGE_MIN_SIBLINGS} same-named leaves`, () => {
    const spans = [span('root', '', 0, 10), span('a1', 'root', 1, 2, { name: 'q' }), span('a2', 'root', 2, 3, { name: 'q' }), span('b', 'root', 3, 4, { name: 'other' })];
    expect(traceOutline(TRACE_A, spans).lines.map((l) => l.trim().split(' ')[0])).toEqual(['1', '1.1', '1.2', '1.3']);
  });

  it('maxDepth hides deeper spans and counts them, errors included, on the line above', () => {
    const { lines } = traceOutline(TRACE_A, trace(), { maxDepth: 1 });
    expect(lines).toEqual([
      '1 api "GET /orders" 100.00ms self=20.00ms #root',
      ' 1.1 api load 50.00ms self=20.00ms +5 below (1 ERR) #load',
      ' 1.2 api render 30.00ms self=29.00ms ERR +1 below #render',
    ]);
  });

  it('rootSpanId outlines one subtree; an unknown span is an actionable error', () => {
    const { header, lines } = traceOutline(TRACE_A, trace(), { rootSpanId: 'render' });
    expect(lines).toEqual(['1 api render 30.00ms self=29.00ms ERR #render', ' 1.1 api format 1.00ms self=1.00ms #format']);
    expect(header[0]).toContain('subtree of #render: 2 of 9 spans');
    expect(() => traceOutline(TRACE_A, trace(), { rootSpanId: 'nope' })).toThrow(ToolInputError);
  });

  it('marks orphans, and shortens the path and indentation of very deep spans', () => {
    const chain = [span('d0', '', 0, 100)];
    for (let i = 1; i <= 40; i++) chain.push(span(`d${i}`, `d${i - 1}`, i, 100 - i));
    chain.push(span('lost', 'not-stored', 5, 6));
    const { lines } = traceOutline(TRACE_A, chain);
    expect(lines).toHaveLength(42);
    expect(lines[40]).toMatch(/^ {16}1\.1\.…36…\.1\.1\.1 svc d40 /);
    expect(lines[41]).toBe('2 svc lost 1.00ms self=1.00ms (orphan: parent not stored or not readable) #lost');
  });
});
