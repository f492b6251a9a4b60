import type { ClickHouseClient } from '@clickhouse/client';
import { longestDays, METHOD_ATTRIBUTES, SPAN_KINDS, STATUSES, type RetentionMatch, type RetentionPolicy } from '../../collector/src/storage/retention/policy.js';
import { LOG_ERROR_SEVERITY } from '../../collector/src/storage/retention/log-matcher.js';
import { alterStorage, storageName, storeCluster } from './cluster-ddl.js';
import { SPAN_KIND_NAMES, STATUS_CODE_NAMES } from './rowbinary.js';

/**
 * The span table's retention as ClickHouse TTL clauses, and their reconciliation at start.
 *
 * Only a default: `TTL toDateTime(Timestamp) + toIntervalDay(N)`, exactly as before rules
 * existed. With rules: one `… DELETE WHERE` clause per rule plus one for the default, made
 * mutually exclusive so that the first rule a span matches decides (ClickHouse applies every
 * DELETE clause on its own: overlapping conditions would mean "the shortest wins"):
 *
 *   rule i:  toDateTime(Timestamp) + toIntervalDay(d_i) WHERE c_i AND NOT (c_1 OR … OR c_{i-1})
 *   default: toDateTime(Timestamp) + toIntervalDay(d)   WHERE NOT (c_1 OR … OR c_n)
 *
 * Every row satisfies exactly one clause. `ttl_only_drop_parts` is 1 with the default alone
 * (whole day-parts are dropped, nothing is rewritten) and 0 with rules: measured on the
 * embedded engine, with it on a background TTL merge only drops a part once *every* row in it
 * has expired, so the spans of a 2-day rule would live as long as the 30-day errors sharing
 * their day; with it off, TTL merges rewrite a part without its expired rows (a day's parts
 * are rewritten about once per distinct rule that expires in them).
 */

/** A ClickHouse string literal: backslashes and quotes escaped, so config values never become SQL. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const storedKind = (kind: (typeof SPAN_KINDS)[number]) => SPAN_KIND_NAMES[SPAN_KINDS.indexOf(kind)]!;
const storedStatus = (status: (typeof STATUSES)[number]) => STATUS_CODE_NAMES[STATUSES.indexOf(status)]!;

/** The `otel_traces` condition a rule's match stands for (its criteria ANDed). */
export function matchCondition(match: RetentionMatch): string {
  const terms: string[] = [];
  if (match.services) {
    terms.push(match.services.length === 1 ? `ServiceName = ${sqlString(match.services[0]!)}` : `ServiceName IN (${match.services.map(sqlString).join(', ')})`);
  }
  if (match.status) terms.push(`StatusCode = ${sqlString(storedStatus(match.status))}`);
  if (match.kind) terms.push(`SpanKind = ${sqlString(storedKind(match.kind))}`);
  if (match.methodSpans !== undefined) {
    const method = `(SpanKind = 'Internal' AND (${METHOD_ATTRIBUTES.map((key) => `mapContains(SpanAttributes, ${sqlString(key)})`).join(' OR ')}))`;
    terms.push(match.methodSpans ? method : `NOT ${method}`);
  }
  return `(${terms.join(' AND ')})`;
}

const expiry = (column: string, days: number) => `toDateTime(${column}) + toIntervalDay(${days})`;

/** The span table's TTL clauses (without the `TTL` keyword). */
export function spanTableTtl(policy: RetentionPolicy): string {
  const at = (days: number) => expiry('Timestamp', days);
  if (policy.rules.length === 0) return at(policy.defaultDays);
  const conditions = policy.rules.map((r) => matchCondition(r.match));
  const clauses = policy.rules.map((rule, i) => {
    const earlier = conditions.slice(0, i);
    return `${at(rule.days)} WHERE ${conditions[i]}${earlier.length === 0 ? '' : ` AND NOT (${earlier.join(' OR ')})`}`;
  });
  clauses.push(`${at(policy.defaultDays)} WHERE NOT (${conditions.join(' OR ')})`);
  return clauses.join(', ');
}

/** The trace-ID lookup table keeps the longest retention of any rule: a trace must stay findable. */
export function lookupTableTtl(policy: RetentionPolicy): string {
  return expiry('Start', longestDays(policy));
}

/** Whole parts only when there are no rules (see the module comment). */
export function ttlOnlyDropParts(policy: RetentionPolicy): 0 | 1 {
  return policy.rules.length === 0 ? 1 : 0;
}

/** What reconciliation changed, for the start-up log and tests. */
export interface RetentionChanges {
  /** Tables whose TTL was altered. */
  ttl: string[];
  /** Tables whose `ttl_only_drop_parts` was altered. */
  settings: string[];
}

/**
 * Brings both tables' TTL (and the span table's `ttl_only_drop_parts`) to the policy; a start
 * with the same policy changes nothing. The comparison is on ClickHouse's own formatting of the
 * clauses (`formatQuerySingleLine`, the formatter that `engine_full` comes from), so it does
 * not depend on how this code spaces or brackets them. In cluster mode both the comparison and
 * the ALTERs are on the local tables (cluster-ddl.ts); `changes` names the tables as given.
 */
export async function reconcileRetention(client: ClickHouseClient, database: string, spanTable: string, lookupTable: string, policy: RetentionPolicy): Promise<RetentionChanges> {
  const changes: RetentionChanges = { ttl: [], settings: [] };
  const cluster = storeCluster(client);
  const qualified = (table: string) => `\`${database}\`.\`${table}\``;
  for (const [table, ttl] of [[spanTable, spanTableTtl(policy)], [lookupTable, lookupTableTtl(policy)]] as const) {
    const engine = await engineFull(client, database, storageName(table, cluster));
    if (engine === undefined) continue;
    if (ttlClause(engine, true) !== ttlClause(await formatted(client, ttl), false)) {
      await client.command({ query: alterStorage(qualified(table), cluster, `MODIFY TTL ${ttl}`) });
      changes.ttl.push(table);
    }
  }
  const engine = await engineFull(client, database, storageName(spanTable, cluster));
  const onlyDrop = ttlOnlyDropParts(policy);
  if (engine !== undefined && !engine.includes(`ttl_only_drop_parts = ${onlyDrop}`)) {
    await client.command({ query: alterStorage(qualified(spanTable), cluster, `MODIFY SETTING ttl_only_drop_parts = ${onlyDrop}`) });
    changes.settings.push(spanTable);
  }
  return changes;
}

async function engineFull(client: ClickHouseClient, database: string, table: string): Promise<string | undefined> {
  const result = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: table },
    format: 'JSONEachRow',
  });
  return (await result.json<{ engine_full: string }>())[0]?.engine_full;
}

/** `ttl` as ClickHouse prints it in a table's definition. */
async function formatted(client: ClickHouseClient, ttl: string): Promise<string> {
  const result = await client.query({
    query: 'SELECT formatQuerySingleLine({q:String}) AS f',
    query_params: { q: `CREATE TABLE t (x Int8) ENGINE = MergeTree ORDER BY x TTL ${ttl}` },
    format: 'JSONEachRow',
  });
  return (await result.json<{ f: string }>())[0]?.f ?? '';
}

/**
 * The TTL clauses of a table definition ('' when it has none). `engine_full` ends with the
 * SETTINGS clause, found from the end so that a service name containing " SETTINGS " (inside
 * a literal of the TTL) is not taken for it.
 */
export function ttlClause(definition: string, endsWithSettings: boolean): string {
  const at = definition.indexOf(' TTL ');
  if (at < 0) return '';
  const end = endsWithSettings ? definition.lastIndexOf(' SETTINGS ') : -1;
  return definition.slice(at + 5, end > at ? end : undefined);
}

/**
 * Logs under the same policy (`otel_logs`, logs-schema.ts). A rule's criteria as a log has them:
 * `services` → ServiceName; `status: error` → SeverityNumber ≥ 17 (OTLP's ERROR and FATAL),
 * `ok`/`unset` → below 17. Logs have no span kind and are never method spans: a rule naming a
 * kind or `method_spans: true` never matches a log (it is left out, which keeps "first match
 * decides"), and `method_spans: false` holds for every log.
 */
export { LOG_ERROR_SEVERITY };

/** The `otel_logs` condition of a rule, or undefined when no log can match it. */
export function logMatchCondition(match: RetentionMatch): string | undefined {
  if (match.kind !== undefined || match.methodSpans === true) return undefined;
  const terms: string[] = [];
  if (match.services) {
    terms.push(match.services.length === 1 ? `ServiceName = ${sqlString(match.services[0]!)}` : `ServiceName IN (${match.services.map(sqlString).join(', ')})`);
  }
  if (match.status) terms.push(match.status === 'error' ? `SeverityNumber >= ${LOG_ERROR_SEVERITY}` : `SeverityNumber < ${LOG_ERROR_SEVERITY}`);
  return terms.length === 0 ? '(1)' : `(${terms.join(' AND ')})`;
}

/** The log table's TTL clauses (without `TTL`), on `TimestampTime` as the OpenTelemetry exporter has it. */
export function logTableTtl(policy: RetentionPolicy): string {
  // TimestampTime is already a DateTime: the exporter's own `TimestampTime + toIntervalDay(N)`.
  const at = (days: number) => `TimestampTime + toIntervalDay(${days})`;
  const applicable = policy.rules.flatMap((rule) => {
    const condition = logMatchCondition(rule.match);
    return condition === undefined ? [] : [{ days: rule.days, condition }];
  });
  if (applicable.length === 0) return at(policy.defaultDays);
  const conditions = applicable.map((r) => r.condition);
  const clauses = applicable.map((rule, i) => {
    const earlier = conditions.slice(0, i);
    return `${at(rule.days)} WHERE ${conditions[i]}${earlier.length === 0 ? '' : ` AND NOT (${earlier.join(' OR ')})`}`;
  });
  clauses.push(`${at(policy.defaultDays)} WHERE NOT (${conditions.join(' OR ')})`);
  return clauses.join(', ');
}

/** Whole parts only when no rule applies to logs (see the module comment). */
export function logTtlOnlyDropParts(policy: RetentionPolicy): 0 | 1 {
  return policy.rules.some((rule) => logMatchCondition(rule.match) !== undefined) ? 0 : 1;
}

/** Brings one table's TTL and `ttl_only_drop_parts` to `ttl`/`onlyDrop`; true when it altered anything. */
export async function reconcileTableTtl(client: ClickHouseClient, database: string, table: string, ttl: string, onlyDrop: 0 | 1): Promise<boolean> {
  const cluster = storeCluster(client);
  const qualified = `\`${database}\`.\`${table}\``;
  const engine = await engineFull(client, database, storageName(table, cluster));
  if (engine === undefined) return false;
  let changed = false;
  if (ttlClause(engine, true) !== ttlClause(await formatted(client, ttl), false)) {
    await client.command({ query: alterStorage(qualified, cluster, `MODIFY TTL ${ttl}`) });
    changed = true;
  }
  if (!engine.includes(`ttl_only_drop_parts = ${onlyDrop}`)) {
    await client.command({ query: alterStorage(qualified, cluster, `MODIFY SETTING ttl_only_drop_parts = ${onlyDrop}`) });
    changed = true;
  }
  return changed;
}
