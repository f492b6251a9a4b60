import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { writeAll } from '../../collector/src/pipeline/persistent-queue/durable-fs.js';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, parseError, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { Session } from 'chdb';
import { setStoreCluster } from './cluster-ddl.js';
import type { ClickHouseConfig } from './config.js';
import { EMBEDDED_ENGINE_DEFAULTS, embeddedEngineArgs, embeddedSessionSettings } from './engine.js';
import { perQuerySettingsConnection } from './per-query-settings.js';
import { checkDiskKeys, checkStoreEncryption, encryptedDiskConfig, memorySpoolDir } from './encrypted-disk.js';
import type { Keyring } from '../../collector/src/storage/encryption/keyring.js';

/**
 * The ClickHouse sessions the collector uses, each with its own settings: embedded chdb
 * keeps `SET`s per session, so user SQL (read-only, limited) must never share a session
 * with writes or with the collector's own queries.
 */
export interface ClickHouseClients {
  /** Migrations and inserts. */
  writer: ClickHouseClient;
  /** The query API's own reads. */
  reader: ClickHouseClient;
  /** A new session, for work that needs one of its own (guest queries use guestQuery instead). */
  newSession(): ClickHouseClient;
  /**
   * `INSERT INTO table (columns)` of RowBinary rows, by the fastest route each mode has:
   * a server gets them as the HTTP body; the embedded engine only takes text formats
   * through its connection, so it reads them from a file in its own data directory.
   */
  /** With `dedupToken`, inserting the same rows again with the same token stores them once. */
  /** Inserts RowBinary rows, given whole or as consecutive parts (a queue batch's records). */
  insertRowBinary(table: string, columns: ReadonlyArray<[name: string, type: string]>, rows: Buffer | readonly Buffer[], dedupToken?: string): Promise<void>;
  /**
   * Runs a guest query (user SQL) on a fresh session that nothing else shares, and streams its
   * result as text chunks of `JSONCompactEachRowWithNamesAndTypes`. See {@link GuestQueryOptions}.
   */
  guestQuery(sql: string, options: GuestQueryOptions): AsyncIterable<string>;
  /**
   * The same guest session as {@link guestQuery}, with the result as raw bytes in `format`
   * (for exports: text or binary formats alike). The statement must carry no FORMAT clause.
   * On the embedded engine the result is produced whole by one native call (bounded by the
   * caller's `max_result_rows`/`max_result_bytes`), then handed on in slices; a server streams it.
   */
  guestExport(sql: string, format: GuestExportFormat, options: GuestQueryOptions): AsyncIterable<Buffer>;
  /** True for the in-process engine (for logs and /metrics labels only). */
  embedded: boolean;
  close(): Promise<void>;
}

export interface GuestQueryOptions {
  /** The session's current database: unqualified table names resolve there. */
  database: string;
  /** Settings set before the statement runs; the statement cannot change them once `readonly` is on. */
  settings: Record<string, string | number>;
  /** `readonly = 1`: no writes, no `SET`/`SETTINGS`, no file or network table functions. */
  readonly: boolean;
  /** Values for `{name:Type}` placeholders, bound by the engine (never spliced into the text). */
  params?: Record<string, unknown>;
  /** Stops waiting for the query (a server cancels it when the request closes; the embedded engine stops at max_execution_time). */
  signal: AbortSignal;
  /**
   * Called once the engine has really finished with the query — which, on the embedded engine,
   * can be well after an abort stopped the waiting — so callers can bound the native work in
   * flight, not only the waiting.
   */
  onSettled?: () => void;
}

/** Output formats a guest export may ask for. */
export const GUEST_EXPORT_FORMATS = ['JSONEachRow', 'JSON', 'CSVWithNames', 'Parquet'] as const;
export type GuestExportFormat = (typeof GUEST_EXPORT_FORMATS)[number];

/** The guest result format: a names line, a types line, then one JSON array per row. */
const GUEST_FORMAT = 'JSONCompactEachRowWithNamesAndTypes';

/** Insert deduplication by token, down to the materialized views the insert feeds. */
function dedupSettings(token: string | undefined): ClickHouseSettings | undefined {
  return token === undefined ? undefined : { insert_deduplicate: 1, insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1 };
}

/** The only place that knows whether ClickHouse is embedded or a server. */
export function openClickHouse(config: ClickHouseConfig): ClickHouseClients {
  const embedded = config.url === '';
  const engine = config.embedded ?? EMBEDDED_ENGINE_DEFAULTS;
  // chdb starts the engine with the first session at a path and takes start-up options only
  // then (later sessions join it): this one carries the sizing and backup options and is held
  // open while the clients are. (A session already open at this path in this process wins.)
  const starter = embedded ? startEmbeddedEngine(resolve(config.dataDir), embeddedEngineArgs(engine, config.backupDir && resolve(config.backupDir)), config.encryption?.keyring) : undefined;
  const make = (): ClickHouseClient => {
    if (embedded) {
      // Query settings are per chdb session: each of the collector's gets the per-query limit, and
      // a query's own settings get a session of their own, so they never reach the next query.
      const settings = embeddedSessionSettings(engine);
      return createClient({ connection: perQuerySettingsConnection(resolve(config.dataDir), settings), clickhouse_settings: settings });
    }
    return createClient({
      url: config.url,
      username: config.username,
      password: config.password,
      database: config.database,
      request_timeout: 60_000,
      compression: { request: true, response: true },
    });
  };
  const sessions = new Set<ClickHouseClient>();
  const newSession = () => {
    const client = make();
    // Every session knows the store's layout, so each component's migration asks its own client (cluster-ddl.ts).
    if (!embedded && config.cluster) setStoreCluster(client, config.cluster);
    sessions.add(client);
    const close = client.close.bind(client);
    client.close = async () => {
      sessions.delete(client);
      await close();
    };
    return client;
  };
  const writer = newSession();
  const reader = newSession();
  const columnList = (columns: ReadonlyArray<[string, string]>) => columns.map(([name]) => `\`${name}\``).join(', ');

  let insertRowBinary: ClickHouseClients['insertRowBinary'];
  if (embedded) {
    // Leftovers of a crash are batches that were never acknowledged as stored: start clean.
    // With encryption on, spool files (read by the engine's file(), which cannot decrypt) live in memory.
    const spool = config.encryption ? memorySpoolDir(resolve(config.encryption.spoolDir), resolve(config.dataDir)) : join(resolve(config.dataDir), 'insert-spool');
    rmSync(spool, { recursive: true, force: true });
    mkdirSync(spool, { recursive: true, mode: 0o700 });
    insertRowBinary = async (table, columns, rows, dedupToken) => {
      const file = join(spool, `${randomUUID()}.bin`);
      // The parts are written one after another (writev), never concatenated in memory first.
      const fh = await open(file, 'w', 0o600);
      try {
        await writeAll(fh, Buffer.isBuffer(rows) ? [rows] : rows, 0);
      } finally {
        await fh.close();
      }
      const structure = columns.map(([name, type]) => `\`${name}\` ${type}`).join(', ');
      try {
        await writer.command({
          query: `INSERT INTO ${table} (${columnList(columns)}) SELECT * FROM file(${sqlString(file)}, 'RowBinary', ${sqlString(structure)})`,
          clickhouse_settings: dedupSettings(dedupToken),
        });
      } finally {
        await unlink(file).catch(() => undefined);
      }
    };
  } else {
    insertRowBinary = async (table, columns, rows, dedupToken) => {
      const result = await writer.exec({
        query: `INSERT INTO ${table} (${columnList(columns)}) FORMAT RowBinary`,
        values: Readable.from(Buffer.isBuffer(rows) ? [rows] : rows, { objectMode: false }),
        clickhouse_settings: dedupSettings(dedupToken),
      });
      result.stream.resume();
    };
  }
  const guestQuery = embedded ? embeddedGuestQuery(resolve(config.dataDir)) : serverGuestQuery(config);
  const guestExport = embedded ? embeddedGuestExport(resolve(config.dataDir)) : serverGuestExport(config);
  return {
    writer,
    reader,
    newSession,
    insertRowBinary,
    guestQuery,
    guestExport,
    embedded,
    async close() {
      await Promise.allSettled([...sessions].map((c) => c.close()));
      starter?.close();
    },
  };
}

/**
 * Opens the first session at `path` with the engine's start-up options (see openClickHouse);
 * with a keyring, on an encrypted disk whose keys are in the environment only while it starts.
 */
function startEmbeddedEngine(path: string, args: string[], keyring?: Keyring): Session {
  mkdirSync(path, { recursive: true });
  const refusal = checkStoreEncryption(path, keyring !== undefined);
  if (refusal) throw new Error(refusal);
  if (!keyring) return new Session(path, { connectionArgs: args });
  checkDiskKeys(path, keyring);
  const disk = encryptedDiskConfig(path, keyring);
  Object.assign(process.env, disk.env);
  try {
    return new Session(path, { connectionArgs: [...disk.args, ...args] });
  } finally {
    for (const name of Object.keys(disk.env)) delete process.env[name];
  }
}

/** The statements that put a session in the guest state: database, limits, then read-only last. */
function guestPreamble(options: GuestQueryOptions): string {
  const statements = [`USE ${sqlIdentifier(options.database)}`];
  for (const [name, value] of Object.entries(options.settings)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid setting name ${JSON.stringify(name)}`);
    statements.push(`SET ${name} = ${typeof value === 'number' ? String(value) : sqlString(value)}`);
  }
  // Last: once read-only, the session refuses every further SET.
  if (options.readonly) statements.push('SET readonly = 1');
  return statements.join('; ');
}

/**
 * Embedded: a new native session per query (chdb keeps SETs per session, so nothing leaks
 * between callers). The query runs as one async native call, off the event loop: chdb 3.4's
 * streaming API computes a query's first block synchronously on the calling thread (measured:
 * a 1.7 s aggregation stalled the event loop 1.7 s), which would stop ingest and /healthz. An
 * abort cannot stop that call; the engine's own `max_execution_time` does, and
 * `max_result_rows`/`max_result_bytes` with `result_overflow_mode = 'break'` bound its result,
 * which is then handed on in slices so the reader stops at its own limits. The session is
 * closed, and `onSettled` called, only when the native call has returned.
 */
function embeddedGuestQuery(path: string): ClickHouseClients['guestQuery'] {
  const SLICE = 1024 * 1024;
  return async function* (sql, options) {
    const session = new Session(path);
    const native = (async () => {
      await session.queryAsync(guestPreamble(options), { format: 'TSV' });
      const queryOptions = { format: GUEST_FORMAT };
      return options.params ? session.queryBindAsync(sql, options.params, queryOptions) : session.queryAsync(sql, queryOptions);
    })();
    void native
      .catch(() => undefined)
      .finally(() => {
        session.close();
        options.onSettled?.();
      });
    const result = await untilAborted(native, options.signal).catch(rethrowAsClickHouseError);
    const text = result.text();
    for (let at = 0; at < text.length; at += SLICE) yield text.slice(at, at + SLICE);
  };
}

/**
 * Embedded export: as {@link embeddedGuestQuery} (one off-loop native call on a fresh session,
 * closed when the call returns), with the result's raw bytes in the requested format. chdb only
 * returns a finished result, so memory is bounded by the engine limits the caller sets.
 */
function embeddedGuestExport(path: string): ClickHouseClients['guestExport'] {
  const SLICE = 1024 * 1024;
  return async function* (sql, format, options) {
    if (!GUEST_EXPORT_FORMATS.includes(format)) throw new Error(`unsupported export format ${String(format)}`);
    const session = new Session(path);
    const native = (async () => {
      await session.queryAsync(guestPreamble(options), { format: 'TSV' });
      const queryOptions = { format };
      return options.params ? session.queryBindAsync(sql, options.params, queryOptions) : session.queryAsync(sql, queryOptions);
    })();
    void native
      .catch(() => undefined)
      .finally(() => {
        session.close();
        options.onSettled?.();
      });
    const result = await untilAborted(native, options.signal).catch(rethrowAsClickHouseError);
    const bytes = result.bytes();
    for (let at = 0; at < bytes.length; at += SLICE) {
      if (options.signal.aborted) return;
      yield Buffer.from(bytes.subarray(at, Math.min(at + SLICE, bytes.length)));
    }
  };
}

/** The promise's outcome, or a rejection as soon as the signal aborts (the work itself goes on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Server: no session ID, so no state is shared between queries; the database, read-only and
 * limits travel with each request (the guest user's settings profile should pin them too, see
 * README "Security"); an abort closes the request, which cancels the query on the server.
 */
function serverGuestQuery(config: ClickHouseConfig): ClickHouseClients['guestQuery'] {
  const clients = new Map<string, ClickHouseClient>();
  const clientFor = (database: string): ClickHouseClient => {
    let client = clients.get(database);
    if (!client) {
      const guest = config.guestUsername ? { username: config.guestUsername, password: config.guestPassword ?? '' } : { username: config.username, password: config.password };
      client = createClient({ url: config.url, ...guest, database, request_timeout: 60_000 });
      clients.set(database, client);
    }
    return client;
  };
  return async function* (sql, options) {
    const settings: ClickHouseSettings = { ...(options.settings as ClickHouseSettings) };
    if (options.readonly) settings.readonly = '1';
    try {
      const result = await clientFor(options.database).query({ query: sql, format: GUEST_FORMAT, query_params: options.params, clickhouse_settings: settings, abort_signal: options.signal });
      for await (const rows of result.stream()) yield rows.map((row) => `${row.text}\n`).join('');
    } finally {
      // Closing the request cancels the query on the server.
      options.onSettled?.();
    }
  };
}

/** Server export: the raw response body, streamed; closing the request cancels the query. */
function serverGuestExport(config: ClickHouseConfig): ClickHouseClients['guestExport'] {
  const clients = new Map<string, ClickHouseClient>();
  const clientFor = (database: string): ClickHouseClient => {
    let client = clients.get(database);
    if (!client) {
      const guest = config.guestUsername ? { username: config.guestUsername, password: config.guestPassword ?? '' } : { username: config.username, password: config.password };
      client = createClient({ url: config.url, ...guest, database, request_timeout: 60_000 });
      clients.set(database, client);
    }
    return client;
  };
  return async function* (sql, format, options) {
    if (!GUEST_EXPORT_FORMATS.includes(format)) throw new Error(`unsupported export format ${String(format)}`);
    const settings: ClickHouseSettings = { ...(options.settings as ClickHouseSettings) };
    if (options.readonly) settings.readonly = '1';
    try {
      // The format is one of a fixed list, and the statement was checked to carry no FORMAT of its own.
      const result = await clientFor(options.database).exec({ query: `${sql}\nFORMAT ${format}`, query_params: options.params, clickhouse_settings: settings, abort_signal: options.signal });
      for await (const chunk of result.stream as AsyncIterable<Buffer>) yield chunk;
    } finally {
      options.onSettled?.();
    }
  };
}

/** chdb's native errors carry ClickHouse's `Code: N. DB::Exception: … (TYPE)` text: give them the client's error shape. */
function rethrowAsClickHouseError(err: unknown): never {
  throw parseError(err instanceof Error ? err : String(err));
}

/** A ClickHouse identifier in backquotes. */
function sqlIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** A ClickHouse string literal. */
function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
