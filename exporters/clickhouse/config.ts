/** What the ClickHouse exporter needs to know; built from the collector's `storage` settings. */
export interface ClickHouseConfig {
  /** A ClickHouse server's HTTP URL; '' means the embedded engine (chdb) in `dataDir`. */
  url: string;
  username: string;
  password: string;
  database: string;
  tracesTable: string;
  dataDir: string;
  retentionDays: number;
  /** Batches written at once. */
  concurrency: number;
}
