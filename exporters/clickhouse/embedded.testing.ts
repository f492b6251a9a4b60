import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openClickHouse, type ClickHouseClients } from './connection.js';

/** An embedded store in a temporary directory, for tests that need the real engine in-process. */
export interface TestStore {
  clients: ClickHouseClients;
  dataDir: string;
  /** Closes the sessions and removes the directory. */
  close(): Promise<void>;
}

export function openTestStore(prefix: string, database = 'default'): TestStore {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const clients = openClickHouse({ url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 });
  return {
    clients,
    dataDir,
    async close() {
      await clients.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
