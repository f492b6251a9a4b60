import type { ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { backupDatabase, BackupRefusedError, type BackupSummary } from './backup.js';
import { defaultBackupName } from './backup-name.js';

/**
 * Online backups of the collector's own store, one at a time, on a session of their own (the
 * writer's inserts go on beside it). Only the embedded engine: a server is backed up by its own
 * BACKUP, to storage its administrator configured (README "Backup and restore").
 */
export class BackupService {
  private running = false;

  constructor(
    private readonly clickhouse: Pick<ClickHouseClients, 'embedded' | 'newSession'>,
    private readonly options: { database: string; backupDir: string },
  ) {}

  get backupDir(): string {
    return this.options.backupDir;
  }

  async backup(name = defaultBackupName()): Promise<BackupSummary> {
    if (!this.clickhouse.embedded) {
      throw new BackupRefusedError('storage is a ClickHouse server: back it up with the server\'s own BACKUP (README "Backup and restore")', 'server');
    }
    if (this.running) throw new BackupRefusedError('a backup is already running; try again when it has finished', 'busy');
    this.running = true;
    const session = this.clickhouse.newSession();
    try {
      return await backupDatabase(session, { database: this.options.database, backupDir: this.options.backupDir, name });
    } finally {
      this.running = false;
      await session.close();
    }
  }
}
