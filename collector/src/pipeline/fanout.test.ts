import { afterAll, describe, expect, it } from 'vitest';
import type { Span } from '../model/span.js';
import { testSpan } from '../model/span.testing.js';
import { RecordedDrops } from './drops.testing.js';
import { ExportFanout } from './fanout.js';
import { FakeExporter, openQueue, queueConfig, removeTempDirs, silent, tempDir, until } from './persistent-queue/test-support.testing.js';

/** Every record is sent at once: no batch waits for the (manual) clock. */
const config = queueConfig({ batch: { max_spans: 1 } });

afterAll(removeTempDirs);

const resource = { attributes: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'shop' };
const scope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
function spans(names: string[]): Span[] {
  return names.map((name, i) => testSpan({ resource, scope, traceId: 'a'.repeat(32), spanId: (i + 1).toString(16).padStart(16, '0'), name, kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n }));
}

/**
 * Records are the span names, one per line. It cannot encode more than `maxSpans` spans at once
 * (as a RowBinary buffer past what one allocation holds), nor a span named `bad`.
 */
class LimitedExporter extends FakeExporter {
  constructor(private readonly maxSpans: number) {
    super('limited');
  }
  override encode(batch: Span[]): Uint8Array {
    if (batch.length > this.maxSpans) throw new RangeError('Array buffer allocation failed');
    if (batch.some((s) => s.name === 'bad')) throw new Error('cannot encode a span named bad');
    return Buffer.from(batch.map((s) => `${s.name}\n`).join(''));
  }
}

describe('ExportFanout', () => {
  it('stores a batch too large to encode at once in parts, rather than acknowledging it unstored', async () => {
    const exporter = new LimitedExporter(3);
    const queue = await openQueue(tempDir(), exporter, { config });
    const drops = new RecordedDrops();
    const fanout = new ExportFanout([queue], { drops, logger: silent });
    const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
    await fanout.consume(spans(names));
    await until(() => exporter.deliveredNames.length >= 10);
    expect(exporter.deliveredNames).toEqual(names);
    expect(drops.dropped).toEqual({});
    await queue.shutdown();
  });

  it('drops only the spans no exporter can encode, to the ledger, and stores the rest', async () => {
    const exporter = new LimitedExporter(100);
    const queue = await openQueue(tempDir(), exporter, { config });
    const drops = new RecordedDrops();
    const fanout = new ExportFanout([queue], { drops, logger: silent });
    await fanout.consume(spans(['a', 'bad', 'b']));
    await until(() => exporter.deliveredNames.length >= 2);
    expect(exporter.deliveredNames).toEqual(['a', 'b']);
    expect(drops.dropped).toEqual({ 'pipeline/unencodable': 1 });
    await queue.shutdown();
  });
});
