import type { Exporter } from '../exporter.js';
import type { ClickHouseClients } from './connection.js';
import { logsTableName, type LogsSchemaOptions } from './logs-schema.js';
import { LOG_INSERT_COLUMNS } from './logs-rowbinary.js';

/** The encoding name of log rows in a queue (records are made by encodeLogRows). */
export const LOG_ROWS_ENCODING = 'clickhouse-log-rows';

/**
 * Writes queued log rows to `otel_logs`, as the span exporter writes span rows: the records
 * (RowBinary rows, which concatenate) go into one INSERT as they are, the batch ID as its
 * insert_deduplication_token, so a batch retried after a crash is stored once. Behind its own
 * durable queue (`<data_dir>/queues/logs/clickhouse`); the table is migrated with the spans'.
 */
export class ClickHouseLogsExporter implements Exporter {
  /** Apart from the span exporter's `clickhouse` in the queue metrics' labels. */
  readonly name = 'logs/clickhouse';
  readonly encoding = LOG_ROWS_ENCODING;
  private readonly table: string;

  constructor(
    private readonly clickhouse: ClickHouseClients,
    options: Pick<LogsSchemaOptions, 'database' | 'logsTable'>,
  ) {
    this.table = logsTableName(options);
  }

  async start(): Promise<void> {}

  /** Never called: log queues are appended pre-encoded records (logs/log-queues.ts). */
  encode(): Uint8Array {
    throw new Error('the logs exporter takes encoded log rows, not spans');
  }

  send(payload: Buffer, records: number, batchId: string): Promise<void> {
    return this.sendRecords([payload], records, batchId);
  }

  async sendRecords(rows: readonly Buffer[], records: number, batchId: string): Promise<void> {
    if (records === 0) return;
    await this.clickhouse.insertRowBinary(this.table, LOG_INSERT_COLUMNS, rows, batchId);
  }

  async shutdown(): Promise<void> {}
}
