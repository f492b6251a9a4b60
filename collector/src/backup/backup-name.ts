import { join, resolve } from 'node:path';

/** A backup's name: a directory under `storage.backup_dir`, never a path. */
export const BACKUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Why `name` is not a backup name, or undefined when it is one. */
export function backupNameProblem(name: string): string | undefined {
  if (!BACKUP_NAME.test(name) || name.includes('..')) {
    return `${JSON.stringify(name.slice(0, 120))} is not a backup name: 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'`;
  }
  return undefined;
}

/** `flowtrace-20261206-113000`: the name given when none is asked for (UTC, to the second). */
export function defaultBackupName(now = new Date()): string {
  const t = now.toISOString();
  return `flowtrace-${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19).replace(/:/g, '')}`;
}

/**
 * `storage.backup_dir`, or `<data_dir>/backups` when empty (inside the data directory: in a container
 * it is the one writable place; ClickHouse servers keep theirs at `<path>/backups` too); absolute.
 */
export function backupDirOf(storage: { data_dir: string; backup_dir: string }, cwd = process.cwd()): string {
  return storage.backup_dir !== '' ? resolve(cwd, storage.backup_dir) : join(resolve(cwd, storage.data_dir), 'backups');
}
