import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
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
  /** True for the in-process engine (for logs and /metrics labels only). */
  embedded: boolean;
  close(): Promise<void>;
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
  return {
    writer,
    reader,
    newSession,
    embedded,
    async close() {
      await Promise.allSettled([...sessions].map((c) => c.close()));
    },
  };
}
