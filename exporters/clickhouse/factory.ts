import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConfig } from './config.js';
import { ClickHouseExporter } from './exporter.js';

export function createClickHouseExporter(writer: ClickHouseClient, config: ClickHouseConfig): ClickHouseExporter {
  return new ClickHouseExporter(writer, config);
}
