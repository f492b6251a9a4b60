import type { ClickHouseClient } from '@clickhouse/client';
import { queryRed } from '../metrics/red/query.js';
import { dropsTable } from '../pipeline/drop-ledger/table.js';
import { anomaliesInScope } from '../query/anomalies-routes.js';
import type { ReadScopes } from '../query/read-scope.js';
import type { RuleConfig } from './config.js';
import type { RuleOutcome } from './evaluator.js';

/**
 * What each kind of rule reads, turned into a RuleOutcome: RED summed over the last window
 * (`flowtrace_red`), the anomaly detector over the last window, the drop ledger's totals.
 * Every read is unrestricted (alerts are the operator's) and parameterised.
 */
export interface SourceDeps {
  reader: ClickHouseClient;
  database: string;
  readScopes: ReadScopes;
}

const MAX_SERIES = 10_000;

export async function outcomeOf(deps: SourceDeps, rule: RuleConfig, nowMs: number): Promise<RuleOutcome> {
  switch (rule.kind) {
    case 'red':
      return red(deps, rule, nowMs);
    case 'anomaly':
      return anomaly(deps, rule, nowMs);
    case 'drops':
      return drops(deps, rule, nowMs);
  }
}

/** Windows end at the minute after now, the current (partial) minute included. */
function windowOf(nowMs: number, minutes: number): { fromS: number; toS: number } {
  const toS = Math.ceil((Math.floor(nowMs / 1000) + 1) / 60) * 60;
  return { fromS: toS - minutes * 60, toS };
}

export function compare(op: '>' | '>=' | '<' | '<=', value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

async function red(deps: SourceDeps, rule: Extract<RuleConfig, { kind: 'red' }>, nowMs: number): Promise<RuleOutcome> {
  const points = await queryRed(deps.reader, deps.database, { ...windowOf(nowMs, rule.window_minutes), service: rule.service, operation: rule.operation, limit: MAX_SERIES });
  const breaching = [];
  const unjudged = new Set<string>();
  for (const p of points) {
    const seriesKey = JSON.stringify([p.service, p.operation, p.spanKind]);
    if (p.requests < rule.min_requests) {
      unjudged.add(seriesKey);
      continue;
    }
    const value = rule.metric === 'error_rate' ? p.errorRatio : rule.metric === 'p99_ms' ? p.p99Ms : p.rate;
    if (!compare(rule.op, value, rule.threshold)) continue;
    const shown = rule.metric === 'error_rate' ? `error rate ${round(value)} (${p.errors}/${p.requests} requests)` : rule.metric === 'p99_ms' ? `p99 ${round(value)} ms` : `${round(value)} requests/s`;
    breaching.push({
      seriesKey,
      service: p.service,
      operation: p.operation,
      value,
      summary: `${shown} ${rule.op} ${rule.threshold} over the last ${rule.window_minutes}m`,
      details: { spanKind: p.spanKind, requests: p.requests, errors: p.errors, p99Ms: round(p.p99Ms) },
    });
  }
  return { rule: rule.name, kind: rule.kind, threshold: rule.threshold, breaching, unjudged };
}

async function anomaly(deps: SourceDeps, rule: Extract<RuleConfig, { kind: 'anomaly' }>, nowMs: number): Promise<RuleOutcome> {
  const answer = await anomaliesInScope(deps, {}, {
    service: rule.service,
    operation: rule.operation,
    windowS: rule.window_minutes * 60,
    lookbackS: rule.window_minutes * 60,
    baselineWindows: rule.baseline_windows,
    threshold: rule.threshold,
    minRequests: rule.min_requests,
    nowS: Math.floor(nowMs / 1000),
  });
  const breaching = answer.anomalies
    .filter((a) => rule.metric === undefined || a.metric === rule.metric)
    .map((a) => ({
      seriesKey: JSON.stringify([a.service, a.operation, a.spanKind, a.metric]),
      service: a.service,
      operation: a.operation,
      value: a.current,
      summary: `${a.metric === 'latency_p99' ? `p99 ${round(a.current)} ms` : `error rate ${round(a.current)}`} against a baseline median of ${round(a.baseline.median)} (score ${round(a.score)} ≥ ${rule.threshold})`,
      details: { metric: a.metric, spanKind: a.spanKind, baselineMedian: round(a.baseline.median), score: round(a.score), exampleTraceIds: a.exampleTraceIds },
    }));
  return { rule: rule.name, kind: rule.kind, threshold: rule.threshold, breaching, unjudged: new Set() };
}

async function drops(deps: SourceDeps, rule: Extract<RuleConfig, { kind: 'drops' }>, nowMs: number): Promise<RuleOutcome> {
  const { fromS } = windowOf(nowMs, rule.window_minutes);
  const where = ["Minute >= toDateTime({from:UInt32}, 'UTC')"];
  const params: Record<string, unknown> = { from: fromS, threshold: rule.threshold, limit: MAX_SERIES };
  for (const [column, name, value] of [['Service', 'service', rule.service], ['Stage', 'stage', rule.stage], ['Reason', 'reason', rule.reason]] as const) {
    if (value === undefined) continue;
    where.push(`${column} = {${name}:String}`);
    params[name] = value;
  }
  let rows: { stage: string; reason: string; service: string; dropped: string }[] = [];
  try {
    const result = await deps.reader.query({
      query: `SELECT Stage AS stage, Reason AS reason, Service AS service, sum(DroppedSpans) AS dropped
        FROM ${dropsTable(deps.database)} WHERE ${where.join(' AND ')}
        GROUP BY Stage, Reason, Service HAVING dropped > {threshold:UInt64}
        ORDER BY dropped DESC LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    rows = await result.json();
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type !== 'UNKNOWN_TABLE' && type !== 'UNKNOWN_DATABASE') throw err;
  }
  const breaching = rows.map((r) => ({
    seriesKey: JSON.stringify([r.stage, r.reason, r.service]),
    service: r.service,
    operation: '',
    value: Number(r.dropped),
    summary: `${r.dropped} spans dropped at ${r.stage} (${r.reason}) > ${rule.threshold} over the last ${rule.window_minutes}m`,
    details: { stage: r.stage, reason: r.reason },
  }));
  return { rule: rule.name, kind: rule.kind, threshold: rule.threshold, breaching, unjudged: new Set() };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
