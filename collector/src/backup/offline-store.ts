import type { ClickHouseClient } from '@clickhouse/client';
import { openClickHouse } from '../../../exporters/clickhouse/index.js';
import type { EmbeddedEngineConfig } from '../../../exporters/clickhouse/engine.js';
import { DataDirLock } from '../data-dir-lock.js';
import type { EncryptionConfig } from '../storage/encryption/config.js';
import { loadKeyring } from '../storage/encryption/keyring.js';

export interface OfflineStoreOptions {
  dataDir: string;
  database: string;
  /** The one directory the engine may back up to or restore from (`backups.allowed_path`). */
  backupDir: string;
  embedded: EmbeddedEngineConfig;
  /** `storage.encryption`: an encrypted store opens only with its keys (its backups copy the encrypted files). */
  encryption?: EncryptionConfig;
  /** Runs once the lock is held and before the engine opens (and writes its own files): may throw to refuse. */
  beforeOpen?: () => void;
}

/**
 * Runs `work` on the embedded store of a stopped collector: holds the data directory's lock
 * throughout (DataDirInUseError while a collector runs on it), so that no collector starts on it
 * meanwhile. No migrations run: the store is taken as it is.
 */
export async function withOfflineStore<T>(options: OfflineStoreOptions, work: (client: ClickHouseClient) => Promise<T>): Promise<T> {
  const lock = new DataDirLock(options.dataDir);
  lock.acquire();
  try {
    options.beforeOpen?.();
    const keyring = options.encryption && loadKeyring(options.encryption);
    const clients = openClickHouse({
      url: '',
      username: 'default',
      password: '',
      database: options.database,
      tracesTable: 'otel_traces',
      dataDir: options.dataDir,
      retentionDays: 7,
      concurrency: 1,
      embedded: options.embedded,
      backupDir: options.backupDir,
      encryption: keyring && { keyring, spoolDir: options.encryption!.spool_dir },
    });
    try {
      return await work(clients.writer);
    } finally {
      await clients.close();
    }
  } finally {
    lock.release();
  }
}
