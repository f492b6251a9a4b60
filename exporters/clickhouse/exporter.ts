import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Span } from '../../collector/src/model/span.js';
import type { Stage } from '../../collector/src/pipeline/stage.js';
import type { ClickHouseConfig } from './config.js';
import { encodeJsonEachRow } from './rows.js';
import { migrate, tableName } from './schema.js';

/**
 * Writes span batches to `otel_traces`. Each `consume` is one INSERT; retrying a failed
 * batch is the queue's job, so an error here is thrown as is.
 */
export class ClickHouseExporter implements Stage {
  readonly name = 'clickhouse';
  private readonly insertQuery: string;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly config: ClickHouseConfig,
  ) {
    this.insertQuery = `INSERT INTO ${tableName(config)} FORMAT JSONEachRow`;
  }

  /** Runs the idempotent schema migrations. */
  async start(): Promise<void> {
    await migrate(this.client, this.config);
  }

  async consume(spans: Span[]): Promise<void> {
    if (spans.length === 0) return;
    // `insert` only takes row objects for JSON formats; `exec` sends pre-encoded text as the body.
    const result = await this.client.exec({
      query: this.insertQuery,
      values: Readable.from([encodeJsonEachRow(spans)], { objectMode: false }),
    });
    result.stream.resume();
  }

  async shutdown(): Promise<void> {}
}
