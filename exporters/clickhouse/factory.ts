import type { ClickHouseClients } from './connection.js';
import type { ClickHouseConfig } from './config.js';
import { ClickHouseExporter } from './exporter.js';

export function createClickHouseExporter(clickhouse: ClickHouseClients, config: ClickHouseConfig): ClickHouseExporter {
  return new ClickHouseExporter(clickhouse, config);
}
