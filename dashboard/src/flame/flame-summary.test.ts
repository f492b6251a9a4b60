import { describe, expect, it } from 'vitest';
import { flameNotes, foldedFrames, topFrames } from './flame-summary';
import { flameTree, type FlameNodeJson, type FlameTree } from './tree';

/** A tree from [parent, service, method, total, self, calls?, folded?] rows in pre-order. */
function build(rows: Array<[number, string, string, number, number, number?, number?]>): FlameTree {
  const nodes: FlameNodeJson[] = rows.map(([parent, service, method, total, self, calls, folded], i) => ({
    parent,
    depth: 0,
    service,
    method,
    totalNano: String(total),
    selfNano: String(self),
    calls: calls ?? 1,
    errors: method === 'Db.query' ? 1 : 0,
    exampleTraceId: service === '' ? '' : `t${i}`,
    folded: folded ?? 0,
  }));
  return flameTree({ nodes });
}

/**
 * (all) 100
 * ├─ api GET /a 60 → api Work.run 50 → api Work.run 30 (recursion) → db Db.query 20
 * ├─ api GET /b 30 → db Db.query 25
 * └─ (other) 10, standing for 7 frames
 */
const sample = () =>
  build([
    [-1, '', '(all)', 100, 0, 3],
    [0, 'api', 'GET /a', 60, 10],
    [1, 'api', 'Work.run', 50, 20, 2],
    [2, 'api', 'Work.run', 30, 10],
    [3, 'db', 'Db.query', 20, 20],
    [0, 'api', 'GET /b', 30, 5],
    [5, 'db', 'Db.query', 25, 25, 3],
    [0, '', '(other)', 10, 10, 4, 7],
  ]);

describe('topFrames', () => {
  it('sums self time per service and method, counts nested recursion once in total, and leaves out (all) and (other)', () => {
    const top = topFrames(sample());
    expect(top.map((f) => [f.service, f.method, f.selfNs, f.totalNs, f.calls, f.errors])).toEqual([
      ['db', 'Db.query', 45, 45, 4, 2],
      ['api', 'Work.run', 30, 50, 3, 0],
      ['api', 'GET /a', 10, 60, 1, 0],
      ['api', 'GET /b', 5, 30, 1, 0],
    ]);
    // Zoom goes to the node with the most self time of the frame, with its example trace.
    expect(top[0]).toMatchObject({ node: 6, exampleTraceId: 't6' });
    expect(top[1]).toMatchObject({ node: 2, exampleTraceId: 't2' });
  });

  it('keeps the `limit` heaviest', () => {
    expect(topFrames(sample(), 2).map((f) => f.method)).toEqual(['Db.query', 'Work.run']);
  });

  it('counts a frame again in total once its recursion has ended (siblings are not nested)', () => {
    const tree = build([
      [-1, '', '(all)', 10, 0],
      [0, 'a', 'F', 4, 1],
      [1, 'a', 'F', 3, 3],
      [0, 'a', 'G', 6, 0],
      [3, 'a', 'F', 6, 6],
    ]);
    expect(topFrames(tree).find((f) => f.method === 'F')).toMatchObject({ selfNs: 10, totalNs: 10, calls: 3 });
  });
});

describe('flameNotes', () => {
  it('says nothing when everything is shown', () => {
    const tree = build([
      [-1, '', '(all)', 10, 0],
      [0, 'a', 'F', 10, 10],
    ]);
    expect(flameNotes(tree, { nodeCount: 2, skippedTraceCount: 0 })).toEqual([]);
  });

  it('names the folded frames and the skipped traces', () => {
    const tree = sample();
    expect(foldedFrames(tree)).toBe(7);
    expect(flameNotes(tree, { nodeCount: 14, skippedTraceCount: 3 })).toEqual([
      'Truncated: the call tree has 13 frames; the 7 lightest are folded into "(other)" frames (their time is kept, their names are not).',
      '3 matching traces were skipped: merging them would load more spans than one request may. Narrow the window, or filter by service or operation, to include them.',
    ]);
    expect(flameNotes(build([[-1, '', '(all)', 1, 1]]), { nodeCount: 1, skippedTraceCount: 1 })[0]).toMatch(/^1 matching trace was skipped: merging it/);
  });
});
