/** What the ClickHouse exporter needs to know; built from the collector's `storage` settings. */
export interface ClickHouseConfig {
  /** A ClickHouse server's HTTP URL; '' means the embedded engine (chdb) in `dataDir`. */
  url: string;
  username: string;
  password: string;
  /**
   * A server user for guest (user SQL) queries, e.g. a readonly user with a settings profile
   * of constraints (README "Security"); empty means `username`. Unused by the embedded engine.
   */
  guestUsername?: string;
  guestPassword?: string;
  database: string;
  tracesTable: string;
  dataDir: string;
  retentionDays: number;
  /** Keep the attribute-key catalog for search autocomplete (`storage.attribute_catalog`); true when absent. */
  attributeCatalog?: boolean;
  /** Batches written at once. */
  concurrency: number;
}
