import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { span, trace } from '../../processors/sample/sample-fixtures.js';
import { RecordedDrops } from '../drops.testing.js';
import { QueueFullError, type Consumer } from '../stage.js';
import { SpanDedupe } from './dedupe.js';

const TRACE = 'ab'.repeat(16);

class Recording implements Consumer {
  readonly taken: Span[] = [];
  refuse = false;
  /** Refuse the next batch only. */
  refuseOnce = false;
  gate: Promise<void> | undefined;
  async consume(spans: Span[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.refuse) throw new QueueFullError('full', 1);
    if (this.refuseOnce) {
      this.refuseOnce = false;
      throw new QueueFullError('full', 1);
    }
    this.taken.push(...spans);
  }
}

function setUp(options: { windowMs?: number; maxSpans?: number } = {}) {
  const next = new Recording();
  const drops = new RecordedDrops();
  let now = 1_000_000;
  const dedupe = new SpanDedupe(next, { windowMs: options.windowMs ?? 60_000, maxSpans: options.maxSpans ?? 1000, drops, registry: new Registry(), now: () => now });
  return { next, drops, dedupe, advance: (ms: number) => (now += ms) };
}

describe('SpanDedupe', () => {
  it('lets a span through once and counts the copies as duplicates', async () => {
    const { next, drops, dedupe } = setUp();
    const spans = trace(TRACE, { spans: 4 });
    await dedupe.consume(spans);
    await dedupe.consume([...spans.slice(0, 2), span(TRACE)]);
    expect(next.taken).toHaveLength(5);
    expect(drops.dropped['pipeline/duplicate']).toBe(2);
  });

  it('drops a copy inside the same batch', async () => {
    const { next, drops, dedupe } = setUp();
    const one = span(TRACE);
    await dedupe.consume([one, { ...one }]);
    expect(next.taken).toHaveLength(1);
    expect(drops.dropped['pipeline/duplicate']).toBe(1);
  });

  it('does not remember a batch the next stage refused: the retry goes through', async () => {
    const { next, drops, dedupe } = setUp();
    const spans = trace(TRACE, { spans: 3 });
    next.refuse = true;
    await expect(dedupe.consume(spans)).rejects.toBeInstanceOf(QueueFullError);
    next.refuse = false;
    await dedupe.consume(spans);
    expect(next.taken).toHaveLength(3);
    expect(drops.dropped['pipeline/duplicate']).toBeUndefined();
  });

  it('forgets spans older than the window, and the oldest beyond max_spans', async () => {
    const { next, dedupe, advance } = setUp({ windowMs: 10_000, maxSpans: 3 });
    const early = span(TRACE);
    await dedupe.consume([early]);
    advance(10_001);
    await dedupe.consume([early]);
    expect(next.taken).toHaveLength(2);
    const four = trace(TRACE, { spans: 4 });
    await dedupe.consume(four);
    expect(dedupe.remembered).toBe(3);
    await dedupe.consume([four[0]!]); // the oldest, forgotten for the bound
    await dedupe.consume([four[3]!]); // still remembered
    expect(next.taken).toHaveLength(7);
  });

  it('a copy arriving while the first is being handed on waits for its outcome', async () => {
    const { next, drops, dedupe } = setUp();
    const spans = trace(TRACE, { spans: 2 });
    let open!: () => void;
    next.gate = new Promise((resolve) => (open = resolve));
    const first = dedupe.consume(spans);
    const second = dedupe.consume(spans.map((s) => ({ ...s })));
    open();
    next.gate = undefined;
    await Promise.all([first, second]);
    expect(next.taken).toHaveLength(2);
    expect(drops.dropped['pipeline/duplicate']).toBe(2);
  });

  it('a copy waiting on a refused first try is handed on itself', async () => {
    const { next, dedupe } = setUp();
    const spans = trace(TRACE, { spans: 2 });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    next.gate = gate;
    next.refuseOnce = true;
    const first = dedupe.consume(spans).catch((err: unknown) => err);
    const second = dedupe.consume(spans.map((s) => ({ ...s })));
    open();
    // The first is refused; the second, which waited on it, is then handed on itself.
    expect(await first).toBeInstanceOf(QueueFullError);
    await second;
    expect(next.taken).toHaveLength(2);
    expect(next.taken.every((s) => spans.some((t) => t.spanId === s.spanId))).toBe(true);
  });
});
