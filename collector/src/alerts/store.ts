import type { ClickHouseClient } from '@clickhouse/client';
import { createTableStatements, onCluster, SHARD_EVENLY, storeCluster } from '../../../exporters/clickhouse/cluster-ddl.js';
import { bringTtlTo } from '../processors/stitch/tables.js';
import type { AlertState, Transition } from './evaluator.js';

/**
 * `flowtrace_alerts`: one row per transition (firing, resolved), beside `otel_traces`, kept
 * `alerts.retention_days` (TTL applied at every start). Read by `GET /api/alerts`.
 */
export const ALERTS_TABLE = 'flowtrace_alerts';

export function alertsTable(database: string): string {
  return `\`${database}\`.\`${ALERTS_TABLE}\``;
}

export async function migrateAlertsTable(client: ClickHouseClient, database: string, retentionDays: number): Promise<void> {
  const ttl = `toDateTime(At) + toIntervalDay(${retentionDays})`;
  const cluster = storeCluster(client);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`${onCluster(cluster)}` });
  const create = `CREATE TABLE IF NOT EXISTS ${alertsTable(database)} (
      At DateTime64(3, 'UTC'),
      Rule LowCardinality(String),
      Kind LowCardinality(String),
      State LowCardinality(String),
      SeriesKey String,
      Service LowCardinality(String),
      Operation String,
      Value Float64,
      Threshold Float64,
      FiringSince DateTime64(3, 'UTC'),
      Summary String,
      Details String CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(At)
    ORDER BY (At, Rule)
    TTL ${ttl}
    SETTINGS ttl_only_drop_parts = 1`;
  // Cluster mode (cluster-ddl.ts): a log of transitions, read across shards; spread evenly.
  for (const query of createTableStatements(create, cluster, SHARD_EVENLY)) await client.command({ query });
  await bringTtlTo(client, database, ALERTS_TABLE, ttl);
}

export async function insertTransitions(client: ClickHouseClient, database: string, ts: readonly Transition[]): Promise<void> {
  if (ts.length === 0) return;
  await client.insert({
    table: alertsTable(database),
    format: 'JSONEachRow',
    values: ts.map((t) => ({
      At: chTime(t.atMs),
      Rule: t.rule,
      Kind: t.kind,
      State: t.state,
      SeriesKey: t.seriesKey,
      Service: t.service,
      Operation: t.operation,
      Value: t.value,
      Threshold: t.threshold,
      FiringSince: chTime(t.firingSinceMs),
      Summary: t.summary,
      Details: JSON.stringify(t.details),
    })),
  });
}

/** `YYYY-MM-DD hh:mm:ss.sss` in UTC: what a DateTime64(3, 'UTC') column parses without settings. */
function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export interface AlertHistoryQuery {
  state?: AlertState;
  rule?: string;
  service?: string;
  sinceMs: number;
  /** Transitions before this only (a paged reader pins its first page's end); absent: up to now. */
  untilMs?: number;
  /** Only these services (a principal's read rules); absent: all. */
  services?: readonly string[];
  limit: number;
}

export interface AlertRecord {
  at: string;
  rule: string;
  kind: string;
  state: AlertState;
  series: string;
  service: string;
  operation: string;
  value: number;
  threshold: number;
  firingSince: string;
  summary: string;
  details: Transition['details'];
}

/** Rule, one service and the principal's readable services, as SQL conditions with their parameters. */
function addSeriesFilter(q: { rule?: string; service?: string; services?: readonly string[] }, where: string[], params: Record<string, unknown>): void {
  if (q.rule) {
    where.push('Rule = {rule:String}');
    params.rule = q.rule;
  }
  if (q.service !== undefined) {
    where.push('Service = {service:String}');
    params.service = q.service;
  }
  if (q.services) {
    where.push('Service IN {services:Array(String)}');
    params.services = q.services;
  }
}

type StoredRecord = Omit<AlertRecord, 'details'> & { details: string };

function toRecords(rows: StoredRecord[]): AlertRecord[] {
  return rows.map((r) => ({ ...r, value: Number(r.value), threshold: Number(r.threshold), details: JSON.parse(r.details) as Transition['details'] }));
}

/** Newest first. */
export async function queryAlerts(reader: ClickHouseClient, database: string, q: AlertHistoryQuery): Promise<AlertRecord[]> {
  const where = ['At >= fromUnixTimestamp64Milli({since:Int64})'];
  const params: Record<string, unknown> = { since: q.sinceMs, limit: q.limit };
  if (q.untilMs !== undefined) {
    where.push('At < fromUnixTimestamp64Milli({until:Int64})');
    params.until = q.untilMs;
  }
  if (q.state) {
    where.push('State = {state:String}');
    params.state = q.state;
  }
  addSeriesFilter(q, where, params);
  try {
    const result = await reader.query({
      query: `SELECT formatDateTime(At, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS at, Rule AS rule, Kind AS kind, State AS state,
          SeriesKey AS series, Service AS service, Operation AS operation, Value AS value, Threshold AS threshold,
          formatDateTime(FiringSince, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS firingSince, Summary AS summary, Details AS details
        FROM ${alertsTable(database)} WHERE ${where.join(' AND ')}
        ORDER BY At DESC, State ASC LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return toRecords(await result.json<StoredRecord>());
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return []; // alerts never started: no history yet
    throw err;
  }
}

export interface FiringQuery {
  rule?: string;
  service?: string;
  /** Only these services (a principal's read rules); absent: all. */
  services?: readonly string[];
  limit: number;
}

/**
 * Series firing now (their last transition is `firing`), the most recently fired first; `at`
 * is when that transition was stored. The whole history is read (transitions are few: one per
 * change of state), not only a recent window: a series may have fired days ago.
 */
export async function queryFiring(reader: ClickHouseClient, database: string, q: FiringQuery): Promise<AlertRecord[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: q.limit };
  addSeriesFilter(q, where, params);
  const time = (column: string) => `formatDateTime(${column}, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')`;
  try {
    const result = await reader.query({
      query: `SELECT ${time('max(At)')} AS at, Rule AS rule, argMax(Kind, At) AS kind, argMax(State, At) AS state, SeriesKey AS series,
          argMax(Service, At) AS service, argMax(Operation, At) AS operation, argMax(Value, At) AS value, argMax(Threshold, At) AS threshold,
          ${time('argMax(FiringSince, At)')} AS firingSince, argMax(Summary, At) AS summary, argMax(Details, At) AS details
        FROM ${alertsTable(database)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        GROUP BY Rule, SeriesKey HAVING state = 'firing'
        ORDER BY firingSince DESC, rule, series LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return toRecords(await result.json<StoredRecord>());
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return [];
    throw err;
  }
}

/**
 * Series whose last transition is `firing` (per rule), to carry dedup across a restart; of
 * these rules, or of every rule when `rules` is absent.
 */
export async function stillFiring(reader: ClickHouseClient, database: string, rules?: readonly string[]): Promise<Transition[]> {
  if (rules?.length === 0) return [];
  const result = await reader.query({
    query: `SELECT Rule AS rule, SeriesKey AS seriesKey, argMax(State, At) AS state, argMax(Kind, At) AS kind,
        argMax(Service, At) AS service, argMax(Operation, At) AS operation, argMax(Value, At) AS value,
        argMax(Threshold, At) AS threshold, argMax(Summary, At) AS summary, argMax(Details, At) AS details,
        toUnixTimestamp64Milli(argMax(FiringSince, At)) AS firingSinceMs, toUnixTimestamp64Milli(max(At)) AS atMs
      FROM ${alertsTable(database)} ${rules ? 'WHERE Rule IN {rules:Array(String)}' : ''}
      GROUP BY Rule, SeriesKey HAVING state = 'firing' LIMIT 10000`,
    query_params: rules ? { rules } : {},
    format: 'JSONEachRow',
  });
  const rows = await result.json<Record<keyof Transition, string>>();
  return rows.map((r) => ({
    rule: r.rule,
    kind: r.kind,
    state: 'firing',
    seriesKey: r.seriesKey,
    service: r.service,
    operation: r.operation,
    value: Number(r.value),
    threshold: Number(r.threshold),
    summary: r.summary,
    details: JSON.parse(r.details) as Transition['details'],
    firingSinceMs: Number(r.firingSinceMs),
    atMs: Number(r.atMs),
  }));
}
