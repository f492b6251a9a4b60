import type { Span } from '../model/span.js';
import type { SpanSummaries } from '../model/span-summaries.js';
import type { Consumer } from './stage.js';

/**
 * A request transcoded straight into storage rows (receivers/otlp/rowbinary-transcoder.ts):
 * what enters a pipeline that needs no span objects — no processors, and storage as the only
 * exporter. The rows go to storage's queue as they are; what the taps read comes from `summary`.
 */
export interface RowBatch {
  /** RowBinary rows for the span table's INSERT_COLUMNS, one per span. */
  rows: Buffer;
  summary: SpanSummaries;
  /**
   * The same spans as objects, decoded again from the request (in slices, like any request):
   * only for the live tail when a client listens (by the transcoder's contract, the spans the
   * rows were made from).
   */
  decodeSpans(): Promise<Span[]>;
}

/** The queue encoding of the rows: the ClickHouse exporter's (exporters/clickhouse/exporter.ts). */
export const ROW_BATCH_ENCODING = 'clickhouse-rowbinary';

/**
 * A stage that can also take rows. The receivers transcode a request only when the pipeline's
 * entry takes rows at that moment (a stage that passes rows on asks the stage after it).
 */
export interface RowConsumer extends Consumer {
  readonly takesRows: boolean;
  consumeRows(batch: RowBatch): Promise<void>;
}

export function takesRows(consumer: Consumer): consumer is RowConsumer {
  return (consumer as Partial<RowConsumer>).takesRows === true;
}
