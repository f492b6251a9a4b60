import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { DropLedger } from './ledger.js';
import { clickHouseDropSink, migrateDropsTable } from './table.js';
import { DROPS_FLUSH_INTERVAL_MS, DropTableWriter } from './writer.js';
import type { RowInserter } from '../../roles/owner-rows.js';

export { DropLedger } from './ledger.js';
export { DROPS_TABLE, dropsTable } from './table.js';

export interface DropStorageOptions {
  database: string;
  /** `storage.drops_retention_days`. */
  retentionDays: number;
  logger: Logger;
  intervalMs?: number;
  /** Where the rows are inserted, when not `client`: the embedded-store owner (roles/owner-rows.ts). */
  rows?: RowInserter;
}

/** The ledger's table: migrated at start, written in the background, flushed at shutdown. */
export interface DropStorage {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

export function dropLedgerStorage(ledger: DropLedger, client: ClickHouseClient, options: DropStorageOptions): DropStorage {
  const logger = options.logger.child({ component: 'drop-ledger' });
  const writer = new DropTableWriter(ledger, clickHouseDropSink(options.rows ?? client, options.database), { intervalMs: options.intervalMs ?? DROPS_FLUSH_INTERVAL_MS, logger });
  return {
    async start() {
      await migrateDropsTable(client, options.database, options.retentionDays);
      writer.start();
    },
    shutdown: () => writer.shutdown(),
  };
}
