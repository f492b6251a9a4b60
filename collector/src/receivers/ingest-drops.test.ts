import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Resource, Span } from '../model/span.js';
import { testSpan } from '../model/span.testing.js';
import { DropLedger } from '../pipeline/drop-ledger/ledger.js';
import { QueueFullError, type Consumer } from '../pipeline/stage.js';
import { CollectorMetrics } from '../telemetry.js';
import { Ingest } from './ingest.js';
import { SenderClocks } from './sender-clocks.js';

const scope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const resource = (serviceName: string): Resource => ({ attributes: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName });
const NS_PER_MS = 1_000_000n;
function spans(service: string, n: number, endMs = Date.now()): Span[] {
  const r = resource(service);
  return Array.from({ length: n }, (_, i) =>
    testSpan({ resource: r, scope, traceId: 'b'.repeat(32), spanId: (i + 1).toString(16).padStart(16, '0'), name: 's', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: BigInt(endMs) * NS_PER_MS }),
  );
}

class Pipeline implements Consumer {
  full = false;
  async consume(): Promise<void> {
    if (this.full) throw new QueueFullError('full', 1);
  }
}

function setUp() {
  const ledger = new DropLedger(new Registry());
  const pipeline = new Pipeline();
  const ingest = new Ingest(pipeline, new CollectorMetrics(), undefined, { drops: ledger });
  const dropped = () => Object.fromEntries(ledger.pending.take().map((r) => [`${r.stage}/${r.reason}/${r.service}`, r.droppedSpans]));
  return { ingest, pipeline, dropped };
}

describe('Ingest reports to the drop ledger', () => {
  it('counts the decoder\'s rejections by service and reason, or all as invalid of an unknown service', async () => {
    const { ingest, dropped } = setUp();
    await ingest.accept('http', {
      spans: [],
      rejectedSpans: 3,
      rejectionMessage: 'bad',
      rejections: [
        { service: 'a', reason: 'invalid', spans: 1 },
        { service: 'b', reason: 'too_old', spans: 2 },
      ],
    });
    await ingest.accept('grpc', { spans: spans('c', 1), rejectedSpans: 4, rejectionMessage: 'bad' });
    expect(dropped()).toEqual({ 'receiver/invalid/a': 1, 'receiver/too_old/b': 2, 'receiver/invalid/': 4 });
  });

  it('counts spans refused for backpressure as refused, per service', async () => {
    const { ingest, pipeline, dropped } = setUp();
    pipeline.full = true;
    await expect(ingest.accept('http', { spans: [...spans('a', 2), ...spans('b', 1)], rejectedSpans: 0, rejectionMessage: '' })).rejects.toBeInstanceOf(QueueFullError);
    expect(dropped()).toEqual({ 'receiver/refused/a': 2, 'receiver/refused/b': 1 });
    pipeline.full = false;
    await ingest.accept('http', { spans: spans('a', 2), rejectedSpans: 0, rejectionMessage: '' });
    expect(dropped()).toEqual({});
  });
});

describe('SenderClocks', () => {
  it('reports per service how far ahead or behind its newest spans end, over the last minutes', () => {
    let now = 1_000 * 60_000;
    const clocks = new SenderClocks(() => now);
    clocks.observe([...spans('ahead', 2, now + 3_000), ...spans('behind', 1, now - 90_000)]);
    clocks.observe(spans('ahead', 1, now + 500));
    expect(clocks.report()).toEqual([
      { service: 'behind', aheadMs: 0, behindMs: 90_000 },
      { service: 'ahead', aheadMs: 3_000, behindMs: 0 },
    ]);
    now += 10 * 60_000;
    clocks.observe(spans('ok', 1, now - 10));
    expect(clocks.report()).toEqual([{ service: 'ok', aheadMs: 0, behindMs: 10 }]);
  });
});
