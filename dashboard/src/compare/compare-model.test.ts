import { describe, expect, it } from 'vitest';
import {
  apiPathOf,
  compareUrl,
  durationChange,
  idProblem,
  isComplete,
  normaliseId,
  parseStep,
  queryFromUrl,
  rowsOf,
  signedCount,
  signedDelta,
  summaryOf,
  type CompareAnswer,
  type MissingPath,
  type PathDiff,
} from './compare-model';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

function diff(path: string, countA: number, countB: number, totalA: number, totalB: number): PathDiff {
  return { path, depth: path.split(' > ').length - 1, countA, countB, totalNanoA: String(totalA), totalNanoB: String(totalB), deltaNano: String(totalB - totalA) };
}
const missing = (d: PathDiff, pathsBelow = 0): MissingPath => ({ ...d, pathsBelow });

function answer(partial: Partial<CompareAnswer> = {}): CompareAnswer {
  return {
    a: { traceId: A, spanCount: 5, durationNano: '10000000' },
    b: { traceId: B, spanCount: 7, durationNano: '25000000' },
    onlyInA: [],
    onlyInB: [],
    changed: [],
    unchangedPaths: 0,
    truncated: false,
    ...partial,
  };
}

const ROOT = 'shop:GET /cart';
const DB = `${ROOT} > shop:SELECT cart(CartRepo.load)`;
const CACHE = `${ROOT} > shop:cache.get`;
const PRICE = `${ROOT} > pricing:POST /price > pricing:compute(Pricer.compute)`;

describe('the URL and the API call', () => {
  it('reads the two IDs, trimmed, and writes them back', () => {
    const q = queryFromUrl(new URLSearchParams(`a=%20${A}%20&b=typical`));
    expect(q).toEqual({ a: A, b: 'typical' });
    expect(isComplete(q)).toBe(true);
    expect(isComplete(queryFromUrl(new URLSearchParams(`a=${A}`)))).toBe(false);
    expect(compareUrl(q)).toBe(`/compare?a=${A}&b=typical`);
    expect(apiPathOf(q)).toBe(`/api/compare?a=${A}&b=typical`);
  });

  it('encodes whatever the URL carried, so it cannot add parameters to the API call', () => {
    expect(apiPathOf({ a: 'x&limit=1', b: '#y' })).toBe('/api/compare?a=x%26limit%3D1&b=%23y');
  });

  it('normalises pasted IDs and names what is wrong with a bad one', () => {
    expect(normaliseId(`  ${A.toUpperCase()} `)).toBe(A);
    expect(normaliseId('Typical')).toBe('typical');
    expect(idProblem(A, 'a')).toBeUndefined();
    expect(idProblem('0123456789abcdef', 'a')).toBeUndefined();
    expect(idProblem('typical', 'b')).toBeUndefined();
    expect(idProblem('typical', 'a')).toBe('A: a trace ID is 32 hex digits');
    expect(idProblem('', 'b')).toBe('B: enter a trace ID');
    expect(idProblem('xyz', 'b')).toBe('B: a trace ID is 32 hex digits, or "typical"');
  });
});

describe('steps', () => {
  it('splits service, span name and method', () => {
    expect(parseStep('shop:SELECT cart(CartRepo.load)')).toEqual({ service: 'shop', name: 'SELECT cart', method: 'CartRepo.load' });
    expect(parseStep('shop:GET /cart')).toEqual({ service: 'shop', name: 'GET /cart', method: '' });
    // A colon in the span name stays in the name.
    expect(parseStep('shop:redis:GET')).toEqual({ service: 'shop', name: 'redis:GET', method: '' });
    expect(parseStep('…')).toEqual({ service: '', name: '(missing parent)', method: '' });
  });
});

describe('rows', () => {
  it('aligns every listed path under its ancestors, parents first, biggest change first', () => {
    const rows = rowsOf(
      answer({
        changed: [diff(DB, 1, 10, 2_000_000, 20_000_000), diff(CACHE, 1, 1, 1_000_000, 1_050_000)],
        onlyInB: [missing(diff(`${ROOT} > pricing:POST /price`, 0, 1, 0, 3_000_000), 1)],
        onlyInA: [missing(diff(`${ROOT} > shop:cache.set`, 1, 0, 400_000, 0))],
      }),
    );
    expect(rows.map((r) => [r.depth, r.kind, r.path])).toEqual([
      [0, 'context', ROOT],
      [1, 'changed', DB],
      [1, 'only-b', `${ROOT} > pricing:POST /price`],
      [1, 'only-a', `${ROOT} > shop:cache.set`],
      [1, 'changed', CACHE],
    ]);
    const db = rows[1]!;
    expect(db).toMatchObject({ countA: 1, countB: 10, totalA: 2_000_000n, totalB: 20_000_000n, delta: 18_000_000n, countChanged: true, change: 'slower' });
    expect(db.step).toEqual({ service: 'shop', name: 'SELECT cart', method: 'CartRepo.load' });
    // 5% slower is within noise.
    expect(rows[4]).toMatchObject({ countChanged: false, change: 'same' });
    expect(rows[2]).toMatchObject({ pathsBelow: 1, change: 'slower' });
    expect(rows[3]).toMatchObject({ change: 'faster' });
    expect(rows[0]!.countA).toBeUndefined();
    expect(rows[0]!.change).toBe('unknown');
  });

  it('fills in every missing ancestor of a deep path, once', () => {
    const rows = rowsOf(answer({ changed: [diff(PRICE, 2, 2, 1_000_000, 5_000_000)], onlyInA: [missing(diff(`${ROOT} > pricing:POST /price > pricing:cache`, 1, 0, 10, 0))] }));
    expect(rows.map((r) => [r.depth, r.kind, r.rawStep])).toEqual([
      [0, 'context', 'shop:GET /cart'],
      [1, 'context', 'pricing:POST /price'],
      [2, 'changed', 'pricing:compute(Pricer.compute)'],
      [2, 'only-a', 'pricing:cache'],
    ]);
  });

  it('keeps orphan subtrees apart, under a missing-parent row', () => {
    const rows = rowsOf(answer({ onlyInB: [missing(diff('… > late:consume', 0, 1, 0, 5))] }));
    expect(rows.map((r) => [r.kind, r.step.name])).toEqual([
      ['context', '(missing parent)'],
      ['only-b', 'consume'],
    ]);
  });

  it('is empty when nothing differs', () => {
    expect(rowsOf(answer({ unchangedPaths: 4 }))).toEqual([]);
  });
});

describe('summary', () => {
  it('counts each kind of difference and the overall change', () => {
    const s = summaryOf(
      answer({
        changed: [diff(DB, 1, 10, 2, 20), diff(CACHE, 1, 1, 1, 2)],
        onlyInA: [missing(diff(`${ROOT} > x:a`, 1, 0, 1, 0), 2)],
        onlyInB: [missing(diff(`${ROOT} > x:b`, 0, 1, 0, 1))],
        unchangedPaths: 3,
      }),
    );
    expect(s).toEqual({
      typical: false,
      typicalOf: undefined,
      spansA: 5,
      spansB: 7,
      durationA: 10_000_000n,
      durationB: 25_000_000n,
      durationDelta: 15_000_000n,
      change: 'slower',
      onlyInA: 3,
      onlyInB: 1,
      changed: 2,
      countChanged: 1,
      unchanged: 3,
      truncated: false,
      identical: false,
    });
  });

  it('a typical shape has no duration of its own, and says how many traces it is of', () => {
    const s = summaryOf(answer({ b: { traceId: 'typical', spanCount: 6, traces: 9 }, unchangedPaths: 5 }));
    expect(s).toMatchObject({ typical: true, typicalOf: 9, spansB: 6, durationB: undefined, durationDelta: undefined, change: 'unknown', identical: true });
  });

  it('a truncated answer is never called identical', () => {
    expect(summaryOf(answer({ truncated: true })).identical).toBe(false);
  });
});

describe('formatting', () => {
  it('signs differences, B minus A', () => {
    const fmt = (ns: bigint) => `${ns}ns`;
    expect(signedDelta(5n, fmt)).toBe('+5ns');
    expect(signedDelta(-5n, fmt)).toBe('−5ns');
    expect(signedDelta(0n, fmt)).toBe('±0');
    expect(signedCount(1, 10)).toBe('+9');
    expect(signedCount(3, 1)).toBe('−2');
    expect(signedCount(2, 2)).toBe('±0');
  });

  it('calls a change significant from 10% and 100 µs', () => {
    expect(durationChange(1_000_000n, 1_099_000n)).toBe('same');
    expect(durationChange(1_000_000n, 1_200_000n)).toBe('slower');
    expect(durationChange(1_200_000n, 1_000_000n)).toBe('faster');
    // Doubling 10 µs is still jitter.
    expect(durationChange(10_000n, 20_000n)).toBe('same');
    expect(durationChange(5n, 5n)).toBe('same');
  });
});
