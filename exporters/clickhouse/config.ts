import type { RetentionPolicy } from '../../collector/src/storage/retention/policy.js';

import type { EmbeddedEngineConfig } from './engine.js';
import type { Keyring } from '../../collector/src/storage/encryption/keyring.js';

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
  /**
   * `storage.clickhouse.cluster`: the ClickHouse cluster the tables are created on (local
   * Replicated tables under Distributed ones, every migration ON CLUSTER; cluster-ddl.ts).
   * Empty or absent: a single node. A server only.
   */
  cluster?: string;
  dataDir: string;
  retentionDays: number;
  /**
   * The retention rules (`storage.retention_rules`) beside `retentionDays`, the default; absent:
   * the default alone. See retention-ttl.ts.
   */
  retentionRules?: RetentionPolicy['rules'];
  /** Keep the attribute-key catalog for search autocomplete (`storage.attribute_catalog`); true when absent. */
  attributeCatalog?: boolean;
  /** Span attribute keys materialised into their own columns (`storage.hot_attributes`); DEFAULT_HOT_ATTRIBUTES when absent. */
  hotAttributes?: readonly string[];
  /** Batches written at once. */
  concurrency: number;
  /** The embedded engine's memory and cache bounds (`storage.embedded`); the defaults when absent. Unused by a server. */
  embedded?: EmbeddedEngineConfig;
  /** Where the embedded engine may write and read backups (`storage.backup_dir`); none when absent. */
  backupDir?: string;
  /**
   * `storage.encryption` for the embedded engine: its parts on an encrypted disk
   * (encrypted-disk.ts) and the insert spool in `spoolDir` (memory-backed). Unused by a server.
   */
  encryption?: { keyring: Keyring; spoolDir: string };
}
