import { describe, expect, it } from 'vitest';
import { continuation, decodeCursor, encodeCursor, estimateTokens, pagedAnswer, pageLines, ToolInputError, truncate } from './paging.js';

describe('pageLines', () => {
  const lines = ['aaaa', 'bbbb', 'cccc', 'dddd'];

  it('takes whole lines while they fit, and says where the next page starts', () => {
    expect(pageLines(lines, 0, 10)).toEqual({ text: 'aaaa\nbbbb', next: 2, shown: 2 });
    expect(pageLines(lines, 2, 10)).toEqual({ text: 'cccc\ndddd', next: undefined, shown: 2 });
  });

  it('always advances: a single line longer than the budget is cut to it', () => {
    const page = pageLines(['x'.repeat(100), 'y'], 0, 11);
    expect(page.shown).toBe(1);
    expect(page.next).toBe(1);
    expect(page.text.length).toBeLessThanOrEqual(11);
  });

  it('an offset at the end gives an empty last page', () => {
    expect(pageLines(lines, 4, 10)).toEqual({ text: '', next: undefined, shown: 0 });
  });
});

describe('cursors', () => {
  it('round-trip the tool, offset and pinned values', () => {
    const cursor = encodeCursor({ tool: 'trace_outline', offset: 412, pin: { trace: 'ab', depth: '' } });
    expect(decodeCursor('trace_outline', cursor)).toEqual({ tool: 'trace_outline', offset: 412, pin: { trace: 'ab', depth: '' } });
  });

  it('refuse a cursor of another tool, an edited one and garbage, with what to do', () => {
    const other = encodeCursor({ tool: 'find_traces', offset: 1, pin: {} });
    expect(() => decodeCursor('trace_outline', other)).toThrow(/not a cursor from trace_outline.*omit it to start over/);
    const negative = Buffer.from(JSON.stringify(['trace_outline', -5, {}])).toString('base64url');
    expect(() => decodeCursor('trace_outline', negative)).toThrow(ToolInputError);
    const nonString = Buffer.from(JSON.stringify(['trace_outline', 1, { a: 1 }])).toString('base64url');
    expect(() => decodeCursor('trace_outline', nonString)).toThrow(ToolInputError);
    expect(() => decodeCursor('trace_outline', '%%%')).toThrow(ToolInputError);
  });

  it('continuation names the cursor, or the end', () => {
    expect(continuation('t', undefined, 9, {})).toBe('# end (9 lines)');
    const more = continuation('t', 3, 9, { a: 'b' });
    expect(more).toMatch(/^# more: 6 of 9 lines not shown; call t again with cursor="([^"]+)"$/);
    expect(decodeCursor('t', /cursor="([^"]+)"/.exec(more)![1]!).offset).toBe(3);
  });
});

describe('truncate and estimateTokens', () => {
  it('cuts long values and reports their full length', () => {
    expect(truncate('abcdef', 10)).toEqual({ text: 'abcdef' });
    expect(truncate('abcdef', 4)).toEqual({ text: 'abcd', totalChars: 6 });
  });

  it('estimates a token per 4 characters, rounding up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcde')).toBe(2);
  });
});

describe('pagedAnswer', () => {
  it('pages lines within the budget after the head, and the pages cover every line once', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
    const seen: string[] = [];
    let offset: number | undefined = 0;
    let pages = 0;
    while (offset !== undefined) {
      const text = pagedAnswer('t', 1000, ['# head'], lines, offset, { trace: 'abc' });
      expect(text.length).toBeLessThanOrEqual(4000);
      expect(text.startsWith('# head\n')).toBe(true);
      seen.push(...text.split('\n').filter((l) => l.startsWith('line ')));
      const cursor = /cursor="([^"]+)"/.exec(text)?.[1];
      const state = cursor === undefined ? undefined : decodeCursor('t', cursor);
      if (state) expect(state.pin).toEqual({ trace: 'abc' });
      offset = state?.offset;
      if (offset === undefined) expect(text.endsWith('# end (500 lines)')).toBe(true);
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(lines);
  });

  it('refuses an offset past the end', () => {
    expect(() => pagedAnswer('t', 1000, [], ['a'], 2, {})).toThrow(/cursor: past the end \(1 lines\)/);
  });
});
