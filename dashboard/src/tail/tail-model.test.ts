import { describe, expect, it } from 'vitest';
import { clear, droppedByCollector, INITIAL_TAIL, LIST_LIMIT, parseDropped, parseTailSpan, pause, receive, resume, type TailSpan } from './tail-model';

const span = (name: string): TailSpan => ({
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  parentSpanId: '',
  service: 'shop',
  name,
  kind: 'Server',
  startTimeUnixNano: '1765000000000000000',
  durationNano: '5000000',
  status: { code: 'Unset', message: '' },
  attributes: {},
});
const names = (rows: ReadonlyArray<{ span: TailSpan }>) => rows.map((r) => r.span.name);
const many = (n: number, prefix = 's') => Array.from({ length: n }, (_, i) => span(`${prefix}${i}`));

describe('the tail list', () => {
  it('shows spans newest first, each with its own key', () => {
    const state = receive(receive(INITIAL_TAIL, [span('a'), span('b')]), [span('c')]);
    expect(names(state.rows)).toEqual(['c', 'b', 'a']);
    expect(state.rows.map((r) => r.seq)).toEqual([2, 1, 0]);
    expect(state.received).toBe(3);
  });

  it('keeps the newest LIST_LIMIT spans', () => {
    let state = receive(INITIAL_TAIL, many(LIST_LIMIT - 1));
    state = receive(state, [span('x'), span('y')]);
    expect(state.rows).toHaveLength(LIST_LIMIT);
    expect(names(state.rows).slice(0, 3)).toEqual(['y', 'x', `s${LIST_LIMIT - 2}`]);
    expect(state.rows.at(-1)!.span.name).toBe('s1');
    // One batch larger than the list: only its newest stay.
    const flood = receive(INITIAL_TAIL, many(LIST_LIMIT + 5));
    expect(flood.rows).toHaveLength(LIST_LIMIT);
    expect(flood.rows[0]!.span.name).toBe(`s${LIST_LIMIT + 4}`);
    expect(flood.received).toBe(LIST_LIMIT + 5);
  });

  it('stops moving while paused, and puts what waited on top when resumed', () => {
    let state = receive(INITIAL_TAIL, [span('a')]);
    state = pause(state);
    state = receive(state, [span('b'), span('c')]);
    expect(names(state.rows)).toEqual(['a']);
    expect(names(state.waiting)).toEqual(['c', 'b']);
    state = resume(state);
    expect(state.paused).toBe(false);
    expect(names(state.rows)).toEqual(['c', 'b', 'a']);
    expect(state.waiting).toEqual([]);
    expect(state.overflowWhilePaused).toBe(0);
  });

  it('bounds the pause buffer, counting what did not fit', () => {
    let state = pause(receive(INITIAL_TAIL, [span('old')]));
    state = receive(state, many(LIST_LIMIT + 7, 'p'));
    expect(state.waiting).toHaveLength(LIST_LIMIT);
    expect(state.overflowWhilePaused).toBe(7);
    state = receive(state, [span('late')]);
    expect(state.overflowWhilePaused).toBe(8);
    expect(state.waiting[0]!.span.name).toBe('late');
    state = resume(state);
    expect(state.rows).toHaveLength(LIST_LIMIT);
    expect(state.rows[0]!.span.name).toBe('late');
  });

  it("sums the collector's dropped counts (across reconnections too), and clears", () => {
    let state = droppedByCollector(INITIAL_TAIL, 15);
    state = droppedByCollector(state, 10);
    state = droppedByCollector(state, 0);
    expect(state.droppedByCollector).toBe(25);
    state = receive(pause(state), [span('a')]);
    expect(clear(state)).toMatchObject({ rows: [], waiting: [], paused: true, droppedByCollector: 25, received: 1 });
    expect(clear(state, true)).toMatchObject({ droppedByCollector: 0, received: 0 });
    expect(pause(pause(INITIAL_TAIL))).toEqual(pause(INITIAL_TAIL));
    expect(resume(INITIAL_TAIL)).toBe(INITIAL_TAIL);
  });
});

describe('stream events', () => {
  it('reads a span line as the collector writes it', () => {
    const line = JSON.stringify({ ...span('GET /cart'), status: { code: 'Error', message: 'boom' }, attributes: { 'http.route': '/cart', n: 3 } });
    expect(parseTailSpan(line)).toEqual({ ...span('GET /cart'), status: { code: 'Error', message: 'boom' }, attributes: { 'http.route': '/cart' } });
    expect(parseTailSpan(JSON.stringify({ ...span('x'), attributesOmitted: true }))).toMatchObject({ attributesOmitted: true });
  });

  it('refuses what is not a span', () => {
    expect(parseTailSpan('not json')).toBeUndefined();
    expect(parseTailSpan('null')).toBeUndefined();
    expect(parseTailSpan(JSON.stringify({ ...span('x'), traceId: '../../x' }))).toBeUndefined();
    expect(parseTailSpan(JSON.stringify({ ...span('x'), durationNano: 5 }))).toBeUndefined();
  });

  it('reads a dropped event', () => {
    expect(parseDropped('{"dropped":15,"total":40}')).toBe(15);
    expect(parseDropped('{"total":40}')).toBeUndefined();
    expect(parseDropped('{')).toBeUndefined();
  });
});
