import type { Span } from '../../collector/src/model/span.js';
import type { Consumer } from '../../collector/src/pipeline/stage.js';
import { ROW_BATCH_ENCODING } from '../../collector/src/pipeline/row-batch.js';
import type { Exporter, RecordFormat } from '../exporter.js';
import type { ClickHouseConfig } from './config.js';
import type { ClickHouseClients } from './connection.js';
import { encodeRowBinary, INSERT_COLUMNS, INSERT_COLUMNS_V1 } from './rowbinary.js';
import { migrate, tableName } from './schema.js';

/**
 * Writes spans to `otel_traces`. Its queue records are RowBinary rows, which concatenate, so a
 * send is one INSERT of the queued bytes as they are; the batch ID is the insert's
 * deduplication token, so a batch retried after a crash is stored once.
 */
export class ClickHouseExporter implements Exporter, Consumer {
  readonly name = 'clickhouse';
  /** Also what receivers transcode to (pipeline/row-batch.ts): the same rows, byte for byte. */
  readonly encoding = ROW_BATCH_ENCODING;
  private readonly table: string;

  constructor(
    private readonly clickhouse: ClickHouseClients,
    private readonly config: ClickHouseConfig,
  ) {
    this.table = tableName(config);
  }

  /** Runs the idempotent schema migrations. */
  async start(): Promise<void> {
    await migrate(this.clickhouse.writer, this.config);
  }

  encode(spans: Span[]): Uint8Array {
    return encodeRowBinary(spans);
  }

  send(payload: Buffer, spanCount: number, batchId: string, format: RecordFormat = 2): Promise<void> {
    return this.sendRecords([payload], spanCount, batchId, format);
  }

  /** Rows concatenate: the records are inserted as they are, one after another. */
  async sendRecords(records: readonly Buffer[], spanCount: number, batchId: string, format: RecordFormat = 2): Promise<void> {
    if (spanCount === 0) return;
    // Rows queued before an upgrade have the columns of their day.
    await this.clickhouse.insertRowBinary(this.table, format === 1 ? INSERT_COLUMNS_V1 : INSERT_COLUMNS, records, batchId);
  }

  /** For callers without a queue (tests, tools): encode and insert at once, as a pipeline Consumer. */
  async consume(spans: Span[], batchId?: string): Promise<void> {
    if (spans.length === 0) return;
    await this.clickhouse.insertRowBinary(this.table, INSERT_COLUMNS, encodeRowBinary(spans), batchId);
  }

  async shutdown(): Promise<void> {}
}
