import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataDirInUseError } from '../../data-dir-lock.js';
import { backupDatabase, BackupRefusedError, type BackupSummary } from '../../backup/backup.js';
import { backupDirOf, backupNameProblem, defaultBackupName } from '../../backup/backup-name.js';
import { withOfflineStore } from '../../backup/offline-store.js';
import { apiCredential, apiUrl, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { offlineConfig, summaryLines } from './backup-format.js';

const USAGE = `Usage: flowtrace backup [--name NAME] [options]

Backs up the embedded store: every table of FlowTrace's database (spans, the trace-ID lookup and
its view, RED metrics, stitching, alerts, the drop ledger, API token digests and the audit log)
with ClickHouse's BACKUP, into the directory NAME under storage.backup_dir (default:
<data_dir>/backups). 'flowtrace restore' brings it back; a ClickHouse server can RESTORE it too
(README "Backup and restore").

Two ways:
  online   (default) the running collector writes it (POST /api/admin/backup; an admin token).
           Spans keep arriving meanwhile; each table is consistent in itself. Spans still in
           the collector's queue when it starts are not in it.
  offline  --data DIR: a stopped collector's data directory, opened here (refused while a
           collector runs on it).

Options:
${CONNECTION_HELP}
  --name NAME          the backup's directory name: letters, digits, '.', '_', '-'
                       (default flowtrace-YYYYMMDD-HHMMSS, UTC)
  --data DIR           offline: back up this stopped collector's data directory
  --config FILE        offline: the collector's YAML (storage.backup_dir, storage.clickhouse.database,
                       storage.embedded) (env FLOWTRACE_CONFIG)
  --json               print the summary as JSON
  -h, --help           show this help

Exit status: 0 written, 1 failed (collector unreachable, a backup already running, the data
directory in use, ClickHouse refused), 2 a bad option (a bad NAME, an existing backup NAME).
`;

export const backupCommand: Command = {
  path: ['backup'],
  summary: 'back up the embedded store (online through the API, or a stopped data directory)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      name: { type: 'string' },
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
    const name = values.name ?? defaultBackupName();
    const problem = backupNameProblem(name);
    if (problem) throw new UsageError(`--name: ${problem}`);
    const fail = (message: string, code = 1) => {
      io.stderr.write(`flowtrace backup: ${message}\n`);
      return code;
    };
    const print = (summary: BackupSummary) => {
      io.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : summaryLines(`backup ${summary.name}:`, summary));
      return 0;
    };

    if (values.data === undefined) {
      if (values.config !== undefined) throw new UsageError('--config is for an offline backup (with --data); online, the collector uses its own');
      const token = apiCredential(values['token-file'], io.env);
      const base = apiUrl(values.api, io.env);
      io.stderr.write(`backing up through ${base} as ${name} …\n`);
      let response: Response;
      try {
        response = await fetch(`${base}/api/admin/backup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ name }),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        return fail(`cannot reach the collector at ${base} (${cause}); is \`flowtrace serve\` running? For a stopped collector: --data DIR`);
      }
      const body = (await response.json().catch(() => ({}))) as BackupSummary & { error?: string; reason?: string };
      if (!response.ok) {
        const hint = response.status === 401 ? ' (set FLOWTRACE_TOKEN or --token-file: an admin token)' : '';
        // A name the collector refuses, or one taken, is the caller's to change (as a bad option).
        const usage = response.status === 400 || body.reason === 'exists';
        return fail(`${response.status}: ${body.error ?? response.statusText}${hint}`, usage ? 2 : 1);
      }
      return print(body);
    }

    if (values.api !== undefined || values['token-file'] !== undefined) throw new UsageError('--api and --token-file are for an online backup; --data backs up offline');
    const config = offlineConfig(values.config, values.data, io.env);
    if (config.storage.clickhouse.url !== '') throw new UsageError('storage is a ClickHouse server: back it up with the server\'s own BACKUP (README "Backup and restore")');
    const backupDir = backupDirOf(config.storage, io.cwd);
    // Opening the engine on a wrong path would make an empty store there and back that up.
    if (!existsSync(join(resolve(io.cwd, config.storage.data_dir), 'metadata'))) throw new UsageError(`--data: ${config.storage.data_dir} holds no FlowTrace store`);
    io.stderr.write(`backing up ${config.storage.data_dir} (stopped) into ${backupDir} as ${name} …\n`);
    try {
      const summary = await withOfflineStore(
        { dataDir: config.storage.data_dir, database: config.storage.clickhouse.database, backupDir, embedded: config.storage.embedded, encryption: config.storage.encryption },
        (client) => backupDatabase(client, { database: config.storage.clickhouse.database, backupDir, name }),
      );
      return print({ ...summary, name });
    } catch (err) {
      if (err instanceof DataDirInUseError) return fail(`${err.dataDir} is in use by a running collector (pid ${err.pid ?? 'unknown'}): back it up online (flowtrace backup without --data), or stop it first`);
      if (err instanceof BackupRefusedError) return fail(err.message, err.reason === 'exists' || err.reason === 'bad-name' ? 2 : 1);
      return fail(err instanceof Error ? err.message : String(err));
    }
  },
};
