/**
 * The attribute-key catalog that feeds search autocomplete: per service and day, every span and
 * resource attribute key with how many spans carried it and its most frequent values with
 * their counts. ClickHouse keeps it at insert time — two materialized views on the span table
 * fold each inserted block into an AggregatingMergeTree — so nothing scans the attribute maps
 * of stored spans and the ingest pipeline does not change. Rows merge in the background;
 * queries merge the states (`sum`, `approx_top_kMerge`), so key counts are exact and value
 * counts approximate (Space-Saving: exact while a key has at most a few dozen distinct values
 * per part, an over-estimate bounded by its `error` beyond).
 *
 * Migrated with the span table (exporters/clickhouse/schema.ts), switched by
 * `storage.attribute_catalog` (on by default): off drops the views and the table, so ingest
 * pays nothing. No backfill: keys appear from the first insert after the migration.
 *
 * Read rules: the table has a service column and no environment column, so a principal limited
 * to services reads its services' rows only (`ServiceName IN {allowed}`), and one limited to
 * environments is refused (403), as for the drop ledger. See {@link catalogFilter}.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { unrestricted, type ReadRules } from '../../auth/principal.js';
import { ReadScopeError } from '../read-scope.js';
import { CATALOG_TABLE, CATALOG_TOP_VALUES, qualified } from './catalog-table.js';

export { CATALOG_TABLE, CATALOG_TOP_VALUES, CATALOG_VALUE_CHARS, migrateAttributeCatalog } from './catalog-table.js';

/** Keys one request returns at most. */
export const MAX_CATALOG_KEYS = 1000;
/** Days one request looks back at most. */
export const MAX_CATALOG_DAYS = 366;

export type CatalogScope = 'span' | 'resource';

/** Which rows of the catalog a principal may read. */
export interface CatalogFilter {
  /** Undefined: every service. */
  services?: string[];
}

export interface CatalogKey {
  scope: CatalogScope;
  key: string;
  /** Spans that carried the key over the days asked (in the services asked). */
  spans: number;
}

export interface CatalogValue {
  value: string;
  /** Spans that carried the value (approximate beyond the few most frequent; never below the truth). */
  count: number;
}

interface CatalogWhere {
  /** Days back from today, at least 1. */
  days: number;
  /** One service; undefined: all the filter allows. */
  service?: string;
  filter: CatalogFilter;
}

export interface KeysQuery extends CatalogWhere {
  scope?: CatalogScope;
  /** Keys starting with this (what the user typed so far). */
  prefix?: string;
  /** Only these keys, each written `<scope>.<key>` (`span.http.route`): whether they were seen. */
  only?: string[];
  limit: number;
}

export interface ValuesQuery extends CatalogWhere {
  scope: CatalogScope;
  key: string;
  /** Values starting with this. */
  prefix?: string;
  limit: number;
}

/** The catalog is off (`storage.attribute_catalog: false`): its table does not exist. */
export class CatalogOffError extends Error {
  override name = 'CatalogOffError';
  readonly statusCode = 404;
  constructor() {
    super('the attribute catalog is off (storage.attribute_catalog: false)');
  }
}

/**
 * What `rules` let a principal read of the catalog: all of it, its services' rows, or nothing
 * (ReadScopeError, 403) for rules on environments, which the catalog cannot tell apart.
 */
export function catalogFilter(rules: ReadRules): CatalogFilter {
  if (unrestricted(rules)) return {};
  if (rules.environments?.length) throw new ReadScopeError(CATALOG_TABLE);
  return { services: [...new Set(rules.services ?? [])] };
}

/** Keys by how many spans carried them, most first (then by scope and key). */
export async function catalogKeys(client: ClickHouseClient, database: string, q: KeysQuery): Promise<CatalogKey[]> {
  const { where, params } = whereOf(q);
  if (q.scope !== undefined) where.push('Scope = {scope:String}');
  if (q.prefix) where.push('startsWith(Key, {prefix:String})');
  if (q.only !== undefined) where.push("has({only:Array(String)}, concat(Scope, '.', Key))");
  const rows = await read<{ scope: CatalogScope; key: string; spans: string }>(
    client,
    `SELECT Scope AS scope, Key AS key, toString(sum(Spans)) AS spans
     FROM ${qualified(database, CATALOG_TABLE)}
     WHERE ${where.join(' AND ')}
     GROUP BY Scope, Key
     ORDER BY sum(Spans) DESC, scope, key
     LIMIT {limit:UInt32}`,
    { ...params, scope: q.scope, prefix: q.prefix, only: q.only, limit: q.limit },
  );
  return rows.map((r) => ({ scope: r.scope, key: r.key, spans: Number(r.spans) }));
}

/** The most frequent values of one key, most first: at most CATALOG_TOP_VALUES. */
export async function catalogValues(client: ClickHouseClient, database: string, q: ValuesQuery): Promise<CatalogValue[]> {
  const { where, params } = whereOf(q);
  where.push('Scope = {scope:String}', 'Key = {key:String}');
  // Merged over services and days first: the top values of the whole selection, not of each row.
  const rows = await read<{ value: string; count: string }>(
    client,
    `SELECT t.item AS value, toString(t.count) AS count
     FROM (SELECT approx_top_kMerge(${CATALOG_TOP_VALUES})(TopValues) AS top FROM ${qualified(database, CATALOG_TABLE)} WHERE ${where.join(' AND ')})
     ARRAY JOIN top AS t
     WHERE startsWith(t.item, {prefix:String})
     ORDER BY t.count DESC, value
     LIMIT {limit:UInt32}`,
    { ...params, scope: q.scope, key: q.key, prefix: q.prefix ?? '', limit: q.limit },
  );
  return rows.map((r) => ({ value: r.value, count: Number(r.count) }));
}

function whereOf(q: CatalogWhere): { where: string[]; params: Record<string, unknown> } {
  const where = ['Day >= today() - {days:UInt32}'];
  const params: Record<string, unknown> = { days: Math.max(0, Math.trunc(q.days) - 1) };
  if (q.filter.services !== undefined) {
    where.push('ServiceName IN {allowed:Array(String)}');
    params.allowed = q.filter.services;
  }
  if (q.service !== undefined) {
    where.push('ServiceName = {service:String}');
    params.service = q.service;
  }
  return { where, params };
}

async function read<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  try {
    return await (await client.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  } catch (err) {
    if ((err as { type?: unknown }).type === 'UNKNOWN_TABLE') throw new CatalogOffError();
    throw err;
  }
}
