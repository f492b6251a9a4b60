import type { RedRow } from '../metrics/red/aggregator.js';
import type { RedSink } from '../metrics/red/red.js';
import type { Span } from '../model/span.js';
import type { RowBatch, RowConsumer } from '../pipeline/row-batch.js';
import { QueueFullError } from '../pipeline/stage.js';

/** A pipeline entry that takes rows (and spans), or refuses both when `full`. */
export class RowSink implements RowConsumer {
  readonly takesRows = true;
  batches: RowBatch[] = [];
  objects: Span[][] = [];
  full = false;

  async consumeRows(batch: RowBatch): Promise<void> {
    if (this.full) throw new QueueFullError('full', 1);
    this.batches.push(batch);
  }

  async consume(spans: Span[]): Promise<void> {
    if (this.full) throw new QueueFullError('full', 1);
    this.objects.push(spans);
  }
}

/** Where RED rows go in the rows-path tests: an array. */
export class MemoryRedSink implements RedSink {
  rows: RedRow[] = [];

  async migrate(): Promise<boolean> {
    return false;
  }

  async insert(rows: readonly RedRow[]): Promise<void> {
    this.rows.push(...rows);
  }
}
