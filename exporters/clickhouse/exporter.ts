import type { Span } from '../../collector/src/model/span.js';
import type { Stage } from '../../collector/src/pipeline/stage.js';
import type { ClickHouseConfig } from './config.js';
import type { ClickHouseClients } from './connection.js';
import { encodeRowBinary, INSERT_COLUMNS } from './rowbinary.js';
import { migrate, tableName } from './schema.js';

/**
 * Writes span batches to `otel_traces`. Each `consume` is one INSERT; retrying a failed
 * batch is the queue's job, so an error here is thrown as is.
 */
export class ClickHouseExporter implements Stage {
  readonly name = 'clickhouse';
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

  async consume(spans: Span[]): Promise<void> {
    if (spans.length === 0) return;
    await this.clickhouse.insertRowBinary(this.table, INSERT_COLUMNS, encodeRowBinary(spans));
  }

  async shutdown(): Promise<void> {}
}
