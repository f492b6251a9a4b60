import { describe, expect, it } from 'vitest';
import type { SpanView } from '../query/span-view.js';
import { compareShapes, compareTraces, shapeOf, typicalShape } from './compare.js';
import { MS, span } from './trace-fixture.testing.js';

const B = 'b'.repeat(32);

/** A checkout request: `queries` SELECTs under the repository method, and optionally a fraud check. */
function checkout(traceId: string, queries: number, queryMs: number, fraud: boolean): SpanView[] {
  const t = { traceId };
  const spans = [
    span(`${traceId[0]}root`, '', 0, 200, { ...t, service: 'shop', name: 'POST /checkout', kind: 'Server' }),
    span(`${traceId[0]}repo`, `${traceId[0]}root`, 1, 150, { ...t, service: 'shop', name: 'load', attributes: { 'code.function.name': 'CartRepo.load' } }),
  ];
  for (let i = 0; i < queries; i++) {
    spans.push(span(`${traceId[0]}q${i}`, `${traceId[0]}repo`, 2 + i * 10, 2 + i * 10 + queryMs, { ...t, service: 'shop', name: 'SELECT cart' }));
  }
  if (fraud) {
    spans.push(span(`${traceId[0]}fc`, `${traceId[0]}root`, 150, 190, { ...t, service: 'shop', name: 'POST /score', kind: 'Client' }));
    spans.push(span(`${traceId[0]}fs`, `${traceId[0]}fc`, 152, 188, { ...t, service: 'fraud', name: 'POST /score', kind: 'Server' }));
  }
  return spans;
}

describe('trace comparison', () => {
  it('aligns spans by service, name and method path and reports what only one trace has, and count and duration changes', () => {
    const result = compareTraces(checkout('a'.repeat(32), 3, 5, true), checkout(B, 5, 8, false));
    expect(result.a).toEqual({ spanCount: 7, durationNs: 200n * MS });
    expect(result.b.spanCount).toBe(7);
    // The fraud check's subtree is one entry, with the server span below it.
    expect(result.onlyInA).toEqual([
      { path: 'shop:POST /checkout > shop:POST /score', depth: 1, countA: 1, countB: 0, totalNsA: 40n * MS, totalNsB: 0n, deltaNs: -40n * MS, pathsBelow: 1 },
    ]);
    expect(result.onlyInB).toEqual([]);
    expect(result.changed).toEqual([
      { path: 'shop:POST /checkout > shop:load(CartRepo.load) > shop:SELECT cart', depth: 2, countA: 3, countB: 5, totalNsA: 15n * MS, totalNsB: 40n * MS, deltaNs: 25n * MS },
    ]);
    expect(result.unchangedPaths).toBe(2);
  });

  it('finds nothing to report between two traces of the same shape', () => {
    const result = compareTraces(checkout('a'.repeat(32), 3, 5, true), checkout(B, 3, 5, true));
    expect(result.onlyInA).toEqual([]);
    expect(result.onlyInB).toEqual([]);
    expect(result.changed).toEqual([]);
    expect(result.unchangedPaths).toBe(5);
  });

  it('never aligns an orphan with a root of the same name', () => {
    const a = [span('r', '', 0, 10, { name: 'GET /' })];
    const b = [span('r', 'lost-parent', 0, 10, { name: 'GET /' })];
    const result = compareTraces(a, b);
    expect(result.onlyInA.map((p) => p.path)).toEqual(['svc:GET /']);
    expect(result.onlyInB.map((p) => p.path)).toEqual(['… > svc:GET /']);
  });

  it('compares a trace with the median shape of its operation', () => {
    const shapes = [checkout('1'.repeat(32), 3, 5, true), checkout('2'.repeat(32), 3, 7, true), checkout('3'.repeat(32), 4, 5, false)].map(shapeOf);
    const typical = typicalShape(shapes);
    // The fraud check is in 2 of 3 traces: typical. SELECT cart: median count of 3, 3, 4 and median total of 15, 21, 20 ms.
    expect(typical.get('shop:POST /checkout > shop:load(CartRepo.load) > shop:SELECT cart')).toEqual({ count: 3, totalNs: 20n * MS });
    expect(typical.has('shop:POST /checkout > shop:POST /score > fraud:POST /score')).toBe(true);
    const result = compareShapes(shapeOf(checkout(B, 10, 5, false)), typical, { spanCount: 12, durationNs: 200n * MS }, { spanCount: 0, durationNs: 0n });
    expect(result.onlyInB.map((p) => p.path)).toEqual(['shop:POST /checkout > shop:POST /score']);
    expect(result.changed[0]).toMatchObject({ countA: 10, countB: 3 });
  });
});
