import type { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

/** The connection contract @clickhouse/client takes from a backend (here: chdb's adapter). */
export type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;
type Settings = NonNullable<Parameters<ClientConnection['query']>[0]['clickhouse_settings']>;

/**
 * An embedded-engine connection on which a query's `clickhouse_settings` apply to that query only.
 *
 * chdb's adapter sends a query's settings as `SET`s before the statement on its one native session,
 * and the session keeps them: an insert's `insert_deduplication_token` would make later inserts
 * without a token duplicates of it (stored zero times), a query's result limit would cut later
 * results, and two queries running at once on the session would see each other's settings. So a
 * query whose settings are only the client's own (`base`: the per-query memory limit, sent with
 * every query) runs on the shared session, where each query sets the same values again; any other
 * query gets a native session of its own (opening one costs about 0.1 ms), closed once it returns.
 */
export function perQuerySettingsConnection(path: string, base: Readonly<Record<string, string>>): ClientConnection {
  // chdb types its connection against @clickhouse/client-common, which @clickhouse/client
  // now bundles as its own copy: the same interface under two declarations.
  const open = (): ClientConnection => createChdbConnection({ path }) as unknown as ClientConnection;
  const shared = open();
  const onlyBase = (settings: Settings | undefined): boolean =>
    Object.entries(settings ?? {}).every(([name, value]) => value === undefined || base[name] === String(value));
  async function route<T>(settings: Settings | undefined, run: (connection: ClientConnection) => Promise<T>): Promise<T> {
    if (onlyBase(settings)) return run(shared);
    const own = open();
    try {
      // chdb hands results over whole (buffered), so the session can close before they are read.
      return await run(own);
    } finally {
      // A query still running natively (after an abort) keeps the session until it ends (chdb defers).
      await own.close();
    }
  }
  return {
    ping: (params) => shared.ping(params),
    query: (params) => route(params.clickhouse_settings, (c) => c.query(params)),
    command: (params) => route(params.clickhouse_settings, (c) => c.command(params)),
    exec: (params) => route(params.clickhouse_settings, (c) => c.exec(params)),
    insert: (params) => route(params.clickhouse_settings, (c) => c.insert(params)),
    close: () => shared.close(),
  };
}
