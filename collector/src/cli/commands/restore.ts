import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataDirInUseError } from '../../data-dir-lock.js';
import { BackupRefusedError, readManifest, restoreDatabase } from '../../backup/backup.js';
import { withOfflineStore } from '../../backup/offline-store.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { offlineConfig, summaryLines } from './backup-format.js';

const USAGE = `Usage: flowtrace restore --from BACKUP_DIR --data DIR [options]

Restores a backup made by 'flowtrace backup' (ClickHouse RESTORE) into the data directory of a
stopped collector that holds no data yet: DIR must be absent or empty. Then start the collector
on DIR ('flowtrace serve --data DIR'). The restored tables are checked against the row counts
the backup recorded. API tokens come back with the data: the same tokens work.

Options:
  --from BACKUP_DIR    the backup's directory (e.g. ./data/backups/flowtrace-20261206-113000)
  --data DIR           the data directory to restore into (default: storage.data_dir)
  --config FILE        the collector's YAML, for storage.data_dir and storage.embedded
                       (env FLOWTRACE_CONFIG)
  --json               print the summary as JSON
  -h, --help           show this help

Exit status: 0 restored, 1 failed (DIR in use by a running collector, ClickHouse refused, the
restored rows differ from the backup's), 2 a bad option (no --from, not a FlowTrace backup, DIR
not empty).
`;

/** What a data directory may hold and still count as empty: the lock file a stopped collector leaves. */
const EMPTY_ENOUGH = new Set(['flowtrace.lock']);

export const restoreCommand: Command = {
  path: ['restore'],
  summary: 'restore a backup into an empty data directory (collector stopped)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      from: { type: 'string' },
      data: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.from === undefined || values.from === '') throw new UsageError('--from BACKUP_DIR is required');
    const from = resolve(io.cwd, values.from);
    if (!existsSync(from) || !statSync(from).isDirectory()) throw new UsageError(`--from: ${values.from} is not a directory`);
    let database: string;
    try {
      database = (await readManifest(from)).database;
    } catch (err) {
      if (err instanceof BackupRefusedError) throw new UsageError(`--from: ${err.message}`);
      throw err;
    }
    const config = offlineConfig(values.config, values.data, io.env);
    if (config.storage.clickhouse.url !== '') throw new UsageError('storage is a ClickHouse server: restore there with RESTORE (README "Backup and restore")');
    if (config.storage.clickhouse.database !== database) {
      throw new UsageError(`the backup holds database ${database}, the configuration reads ${config.storage.clickhouse.database} (storage.clickhouse.database)`);
    }
    const dataDir = resolve(io.cwd, config.storage.data_dir);
    const fail = (message: string, code = 1) => {
      io.stderr.write(`flowtrace restore: ${message}\n`);
      return code;
    };
    io.stderr.write(`restoring ${from} into ${dataDir} …\n`);
    try {
      const summary = await withOfflineStore(
        // The engine may read backups only under the backup's own parent directory.
        {
          dataDir,
          database: config.storage.clickhouse.database,
          backupDir: dirname(from),
          embedded: config.storage.embedded,
          encryption: config.storage.encryption,
          // Checked under the lock (so a running collector is named as such), before the engine writes its files.
          beforeOpen: () => {
            const found = leftovers(dataDir);
            if (found.length > 0) throw new BackupRefusedError(`${dataDir} is not empty (${found.slice(0, 3).join(', ')}${found.length > 3 ? ', …' : ''}); restore into a new or empty data directory`, 'not-empty');
          },
        },
        (client) => restoreDatabase(client, from),
      );
      const bytes = summary.tables.reduce((n, t) => n + t.bytes, 0);
      io.stdout.write(values.json ? `${JSON.stringify({ ...summary, path: dataDir })}\n` : summaryLines('restored', { ...summary, bytes, path: dataDir }));
      return 0;
    } catch (err) {
      if (err instanceof DataDirInUseError) return fail(`${err.dataDir} is in use by a running collector (pid ${err.pid ?? 'unknown'}): restore only into the data directory of a stopped collector, one that holds no data yet`);
      if (err instanceof BackupRefusedError) return fail(err.message, err.reason === 'not-empty' || err.reason === 'not-a-backup' ? 2 : 1);
      return fail(err instanceof Error ? err.message : String(err));
    }
  },
};

/** What the directory holds besides the lock file. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((entry) => !EMPTY_ENOUGH.has(entry));
}
