import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { backupNameProblem } from './backup-name.js';

/** Written beside ClickHouse's own files: what the backup holds, for restore and for people. */
export const MANIFEST_FILE = 'flowtrace-backup.json';
const MANIFEST_FORMAT = 'flowtrace-backup/1';

export interface TableSummary {
  table: string;
  rows: number;
  /**
   * Set when the backup's files are encrypted (storage.encryption: the engine copies its encrypted
   * disk's files as they are, and its Backup database engine then reads them as empty): the rows
   * are counted in the store before and after BACKUP instead, and the backup holds between
   * `rowsAtLeast` and `rows` (spans may arrive meanwhile).
   */
  rowsAtLeast?: number;
  /** Bytes of the table's data files (compressed, as stored). */
  bytes: number;
}

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  database: string;
  createdAt: string;
  clickhouseVersion: string;
  tables: TableSummary[];
  rows: number;
  bytes: number;
}

export interface BackupSummary extends BackupManifest {
  name: string;
  path: string;
  durationMs: number;
}

/** A refusal the caller can name to the user (HTTP 4xx, exit 2): a bad name, an existing backup, not a backup. */
export class BackupRefusedError extends Error {
  override name = 'BackupRefusedError';
  constructor(
    message: string,
    readonly reason: 'bad-name' | 'exists' | 'not-a-backup' | 'not-empty' | 'busy' | 'server',
  ) {
    super(message);
  }
}

/**
 * `BACKUP DATABASE … TO File(…)`: every table and view of FlowTrace's database (spans, the trace-ID
 * lookup and its view, and the flowtrace_* side tables, API tokens and the audit log included: the
 * tokens are stored as digests, and a restored store should let the same callers in). ClickHouse
 * takes each table's parts as they are when it reaches the table, so a backup taken while spans
 * arrive is consistent per table (a view's target may hold a few more or fewer rows than its
 * source). The engine must have been started with `backups.allowed_path` = `backupDir`.
 */
export async function backupDatabase(client: ClickHouseClient, options: { database: string; backupDir: string; name: string }): Promise<BackupSummary> {
  const problem = backupNameProblem(options.name);
  if (problem) throw new BackupRefusedError(problem, 'bad-name');
  await mkdir(options.backupDir, { recursive: true, mode: 0o700 });
  const path = join(options.backupDir, options.name);
  if (existsSync(path)) throw new BackupRefusedError(`backup ${JSON.stringify(options.name)} already exists in ${options.backupDir}; choose another name`, 'exists');
  const started = Date.now();
  const before = await storeTables(client, options.database);
  await client.command({ query: `BACKUP DATABASE ${identifier(options.database)} TO File(${literal(path)})` });
  const tables = (await holdsEncryptedFiles(path)) ? countedAround(before, await storeTables(client, options.database)) : await backupTables(client, options.database, path);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    database: options.database,
    createdAt: new Date(started).toISOString(),
    clickhouseVersion: await version(client),
    tables,
    rows: tables.reduce((n, t) => n + t.rows, 0),
    bytes: tables.reduce((n, t) => n + t.bytes, 0),
  };
  await writeFile(join(path, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return { ...manifest, name: options.name, path, durationMs: Date.now() - started };
}

/** Reads a backup's manifest; refuses a directory that is not a FlowTrace backup. */
export async function readManifest(path: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(path, MANIFEST_FILE), 'utf8');
  } catch {
    throw new BackupRefusedError(`${path} is not a FlowTrace backup (no ${MANIFEST_FILE})`, 'not-a-backup');
  }
  let manifest: Partial<BackupManifest> | null;
  try {
    manifest = JSON.parse(text) as Partial<BackupManifest> | null;
  } catch {
    manifest = null;
  }
  // Any JSON value may be there (null, a string, …): only an object with the fields is a manifest.
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== MANIFEST_FORMAT || typeof manifest.database !== 'string' || !Array.isArray(manifest.tables)) {
    throw new BackupRefusedError(`${path}: ${MANIFEST_FILE} is not a ${MANIFEST_FORMAT} manifest`, 'not-a-backup');
  }
  return manifest as BackupManifest;
}

/**
 * `RESTORE DATABASE … FROM File(…)` into a store that has none of the database's tables (refused
 * otherwise, before anything is written), then checks every table holds the rows the manifest
 * counted. The same statement restores into a ClickHouse server (README "Moving to a server").
 */
export async function restoreDatabase(client: ClickHouseClient, path: string): Promise<BackupManifest & { durationMs: number }> {
  const manifest = await readManifest(path);
  const existing = await tablesIn(client, manifest.database);
  if (existing.length > 0) {
    throw new BackupRefusedError(`database ${manifest.database} already holds ${existing.length} tables (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); restore into an empty data directory`, 'not-empty');
  }
  const started = Date.now();
  // Spans past their retention would be dropped by a TTL merge as soon as their parts arrive,
  // before the count below: TTL merges wait until it is done (the collector's start resumes them
  // anyway; restoring old spans for good needs a longer retention_days first).
  await client.command({ query: 'SYSTEM STOP TTL MERGES' });
  let restored: Map<string, number>;
  try {
    // The target's `default` database exists already, made by the engine with its own UUID:
    // ClickHouse would call that "a different definition" and refuse.
    await client.command({ query: `RESTORE DATABASE ${identifier(manifest.database)} FROM File(${literal(path)}) SETTINGS allow_different_database_def = 1, ${NEUTERED_EXTERNALS}` });
    await refuseForeignTables(client, manifest.database, path);
    restored = new Map((await partRows(client, manifest.database)).map((t) => [t.table, t.rows]));
  } finally {
    await client.command({ query: 'SYSTEM START TTL MERGES' });
  }
  const wrong = manifest.tables.filter((t) => {
    const rows = restored.get(t.table) ?? 0;
    return t.rowsAtLeast === undefined ? rows !== t.rows : rows < t.rowsAtLeast || rows > t.rows;
  });
  if (wrong.length > 0) {
    throw new Error(`restored tables differ from the backup: ${wrong.map((t) => `${t.table} has ${restored.get(t.table) ?? 0} rows, the backup ${t.rows}`).join('; ')}`);
  }
  return { ...manifest, durationMs: Date.now() - started };
}

/** The engines of the tables a FlowTrace store holds (schema.ts and the flowtrace_* modules' own tables). */
const RESTORABLE_ENGINES: ReadonlySet<string> = new Set(['MergeTree', 'ReplacingMergeTree', 'SummingMergeTree', 'AggregatingMergeTree', 'MaterializedView']);

/**
 * A backup is files anyone could have written, and RESTORE runs its table definitions: a URL,
 * Kafka, MySQL, … table (or a dictionary, or a view's table function) fed by a view on the spans
 * would send every span stored after the restore elsewhere. ClickHouse makes each of those a
 * `Null` table / function / source as it restores (the store was checked empty above, so a
 * definition that then differs from the backup's is no overwrite: allow_different_table_def),
 * and refuseForeignTables takes out whatever is not a FlowTrace engine.
 */
const NEUTERED_EXTERNALS =
  'allow_different_table_def = 1, restore_replace_external_engines_to_null = 1, restore_replace_external_table_functions_to_null = 1, restore_replace_external_dictionary_source_to_null = 1';

/**
 * Drops every table of a just-restored `database` and refuses it when one has an engine a FlowTrace
 * store never has, or a definition (a view's query, a column's DEFAULT, …) that calls a table
 * function (url(), file(), remote(), s3(), …): ClickHouse keeps those in views as they are.
 */
async function refuseForeignTables(client: ClickHouseClient, database: string, path: string): Promise<void> {
  const result = await client.query({
    query: `SELECT name, engine, create_table_query AS ddl FROM system.tables WHERE database = {db:String} ORDER BY engine = 'MaterializedView' DESC, name`,
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  const tables = await result.json<{ name: string; engine: string; ddl: string }>();
  const calls = await tableFunctionCall(client);
  const foreign = tables.flatMap((t) => {
    if (!RESTORABLE_ENGINES.has(t.engine)) return [`${t.name} (engine ${t.engine})`];
    const call = calls.exec(withoutStringLiterals(t.ddl));
    return call ? [`${t.name} (calls ${call[1]}())`] : [];
  });
  if (foreign.length === 0) return;
  // Views first, so that nothing is fed while the rest go.
  for (const t of tables) await client.command({ query: `DROP ${t.engine === 'Dictionary' ? 'DICTIONARY' : 'TABLE'} IF EXISTS ${identifier(database)}.${identifier(t.name)} SYNC` });
  throw new BackupRefusedError(`${path} is not a FlowTrace backup: it holds ${foreign.join(', ')}; nothing was restored`, 'not-a-backup');
}

/** A call of any of the engine's table functions (FlowTrace's own definitions call none). */
async function tableFunctionCall(client: ClickHouseClient): Promise<RegExp> {
  const result = await client.query({ query: 'SELECT name FROM system.table_functions', format: 'JSONEachRow' });
  const names = (await result.json<{ name: string }>()).map((r) => r.name.replace(/[^A-Za-z0-9_]/g, ''));
  return new RegExp(`(?<![A-Za-z0-9_\`.])(${names.join('|')})\\s*\\(`, 'i');
}

/** `ddl` with its string literals emptied: a service name in a TTL rule is no call. */
function withoutStringLiterals(ddl: string): string {
  return ddl.replace(/'(?:[^'\\]|\\.)*'/g, "''");
}

/** Tables (and views) of `database`. */
async function tablesIn(client: ClickHouseClient, database: string): Promise<string[]> {
  const result = await client.query({ query: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name', query_params: { db: database }, format: 'JSONEachRow' });
  return (await result.json<{ name: string }>()).map((r) => r.name);
}

/** Rows of each MergeTree table of `database`. */
async function partRows(client: ClickHouseClient, database: string): Promise<Array<{ table: string; rows: number }>> {
  const result = await client.query({
    query: `SELECT name AS table, toString(total_rows) AS rows FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'`,
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  return (await result.json<{ table: string; rows: string | null }>()).map((r) => ({ table: r.table, rows: Number(r.rows ?? 0) }));
}

async function version(client: ClickHouseClient): Promise<string> {
  const result = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
  return (await result.json<{ v: string }>())[0]?.v ?? '';
}

/** Rows and bytes of each MergeTree table of the store. */
async function storeTables(client: ClickHouseClient, database: string): Promise<TableSummary[]> {
  const result = await client.query({
    query: `SELECT name AS table, toString(total_rows) AS rows, toString(total_bytes) AS bytes FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree' ORDER BY name`,
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  return (await result.json<{ table: string; rows: string | null; bytes: string | null }>()).map((r) => ({ table: r.table, rows: Number(r.rows ?? 0), bytes: Number(r.bytes ?? 0) }));
}

/** The tables as counted before and after the backup: the backup holds rows between the two. */
function countedAround(before: TableSummary[], after: TableSummary[]): TableSummary[] {
  const earlier = new Map(before.map((t) => [t.table, t.rows]));
  return after.map((t) => {
    const a = earlier.get(t.table) ?? 0;
    return { table: t.table, rows: Math.max(a, t.rows), rowsAtLeast: Math.min(a, t.rows), bytes: t.bytes };
  });
}

/** Whether ClickHouse wrote the backup's files as they were on an encrypted disk (its `.backup` list says so per file). */
async function holdsEncryptedFiles(path: string): Promise<boolean> {
  try {
    return (await readFile(join(path, '.backup'), 'utf8')).includes('<encrypted_by_disk>true</encrypted_by_disk>');
  } catch {
    return false;
  }
}

/**
 * Each table in the backup with its rows and bytes, read from the backup itself (ClickHouse's
 * read-only `Backup` database engine, attached for a moment under a name of its own): what was
 * written, not what the store holds by now; and a backup ClickHouse cannot read fails here.
 */
async function backupTables(client: ClickHouseClient, database: string, path: string): Promise<TableSummary[]> {
  const probe = `flowtrace_backup_check_${randomBytes(6).toString('hex')}`;
  await client.command({ query: `CREATE DATABASE ${identifier(probe)} ENGINE = Backup(${literal(database)}, File(${literal(path)}))` });
  try {
    const result = await client.query({
      query: `SELECT name AS table, toString(total_rows) AS rows, toString(total_bytes) AS bytes FROM system.tables
        WHERE database = {db:String} AND engine LIKE '%MergeTree' ORDER BY name`,
      query_params: { db: probe },
      format: 'JSONEachRow',
    });
    return (await result.json<{ table: string; rows: string | null; bytes: string | null }>()).map((r) => ({ table: r.table, rows: Number(r.rows ?? 0), bytes: Number(r.bytes ?? 0) }));
  } finally {
    // Detaches the reader only: a Backup database is read-only, its files stay.
    await client.command({ query: `DROP DATABASE IF EXISTS ${identifier(probe)}` });
  }
}

function identifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
