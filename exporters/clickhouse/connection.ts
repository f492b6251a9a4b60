import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { ClickHouseConfig } from './config.js';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

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
  /** A new session, for work that needs one of its own (user SQL, see query/user-sql.ts). */
  newSession(): ClickHouseClient;
  /**
   * `INSERT INTO table (columns)` of RowBinary rows, by the fastest route each mode has:
   * a server gets them as the HTTP body; the embedded engine only takes text formats
   * through its connection, so it reads them from a file in its own data directory.
   */
  /** With `dedupToken`, inserting the same rows again with the same token stores them once. */
  insertRowBinary(table: string, columns: ReadonlyArray<[name: string, type: string]>, rows: Buffer, dedupToken?: string): Promise<void>;
  /** True for the in-process engine (for logs and /metrics labels only). */
  embedded: boolean;
  close(): Promise<void>;
}

/** Insert deduplication by token, down to the materialized views the insert feeds. */
function dedupSettings(token: string | undefined): ClickHouseSettings | undefined {
  return token === undefined ? undefined : { insert_deduplicate: 1, insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1 };
}

/** The only place that knows whether ClickHouse is embedded or a server. */
export function openClickHouse(config: ClickHouseConfig): ClickHouseClients {
  const embedded = config.url === '';
  const make = (): ClickHouseClient => {
    if (embedded) {
      const path = resolve(config.dataDir);
      mkdirSync(path, { recursive: true });
      // chdb types its connection against @clickhouse/client-common, which @clickhouse/client
      // now bundles as its own copy: the same interface under two declarations.
      const connection = createChdbConnection({ path }) as unknown as ClientConnection;
      return createClient({ connection });
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
    const spool = join(resolve(config.dataDir), 'insert-spool');
    rmSync(spool, { recursive: true, force: true });
    mkdirSync(spool, { recursive: true });
    insertRowBinary = async (table, columns, rows, dedupToken) => {
      const file = join(spool, `${randomUUID()}.bin`);
      await writeFile(file, rows);
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
        values: Readable.from([rows], { objectMode: false }),
        clickhouse_settings: dedupSettings(dedupToken),
      });
      result.stream.resume();
    };
  }
  return {
    writer,
    reader,
    newSession,
    insertRowBinary,
    embedded,
    async close() {
      await Promise.allSettled([...sessions].map((c) => c.close()));
    },
  };
}

/** A ClickHouse string literal. */
function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
