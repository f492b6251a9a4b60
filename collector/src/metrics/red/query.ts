import type { ClickHouseClient } from '@clickhouse/client';
import { histogramQuantile } from '../../processors/stitch/histogram.js';
import { redTable } from './table.js';

/**
 * RED over any window, read from `flowtrace_red` by summing its minutes: counts add, the
 * duration histograms add bucket by bucket (`sumMap`), so a window of any length is exact up
 * to the histogram's resolution — quantiles are within one bucket (about 9 %) of the true value.
 */

export interface RedQuery {
  /** Whole minutes, seconds since the epoch: minutes in [fromS, toS) are summed. */
  fromS: number;
  toS: number;
  /** Seconds, a multiple of 60; absent: the whole window is one point. */
  stepS?: number;
  service?: string;
  operation?: string;
  spanKind?: string;
  /** Only these services (a principal's read rules); absent: every service. */
  services?: readonly string[];
  limit: number;
}

export interface RedPoint {
  service: string;
  operation: string;
  spanKind: string;
  /** Seconds since the epoch: the start of the point's step (of the window without a step). */
  startS: number;
  /** The seconds the point covers (the last step may be cut short by the window's end). */
  seconds: number;
  requests: number;
  errors: number;
  /** Requests per second over `seconds`. */
  rate: number;
  /** errors / requests, 0 to 1. */
  errorRatio: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

interface Row {
  service: string;
  operation: string;
  spanKind: string;
  at: string | number;
  requests: string;
  errors: string;
  sumNs: string;
  minNs: string;
  maxNs: string;
  buckets: Record<string, string>;
}

export async function queryRed(reader: ClickHouseClient, database: string, q: RedQuery): Promise<RedPoint[]> {
  const step = q.stepS ?? q.toS - q.fromS;
  const where = ['Minute >= toDateTime({from:UInt32}, \'UTC\')', 'Minute < toDateTime({to:UInt32}, \'UTC\')'];
  const params: Record<string, unknown> = { from: q.fromS, to: q.toS, step: Math.max(step, 60), limit: q.limit };
  const filter = (column: string, name: string, value: string | undefined) => {
    if (value === undefined) return;
    where.push(`${column} = {${name}:String}`);
    params[name] = value;
  };
  filter('ServiceName', 'service', q.service);
  filter('Operation', 'operation', q.operation);
  filter('SpanKind', 'kind', q.spanKind);
  if (q.services !== undefined) {
    where.push('ServiceName IN {allowed:Array(String)}');
    params.allowed = q.services;
  }
  const sql = `SELECT ServiceName AS service, Operation AS operation, SpanKind AS spanKind,
      {from:UInt32} + intDiv(toUnixTimestamp(Minute) - {from:UInt32}, {step:UInt32}) * {step:UInt32} AS at,
      sum(Requests) AS requests, sum(Errors) AS errors, sum(DurationSumNs) AS sumNs,
      min(DurationMinNs) AS minNs, max(DurationMaxNs) AS maxNs, sumMap(DurationBuckets) AS buckets
    FROM ${redTable(database)}
    WHERE ${where.join(' AND ')}
    GROUP BY service, operation, spanKind, at
    ORDER BY at, requests DESC, service, operation, spanKind
    LIMIT {limit:UInt32}`;
  const rows = await readRows(reader, sql, params);
  return rows.map((row) => pointOf(row, Math.min(Math.max(step, 60), q.toS - Number(row.at))));
}

async function readRows(reader: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<Row[]> {
  try {
    // 64-bit sums as strings: exact until converted.
    const result = await reader.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    return await result.json<Row>();
  } catch (err) {
    // The table is created at start, after the API opens: until then there is nothing to read.
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return [];
    throw err;
  }
}

function pointOf(row: Row, seconds: number): RedPoint {
  const requests = Number(row.requests);
  const errors = Number(row.errors);
  const histogram = {
    buckets: new Map(Object.entries(row.buckets).map(([bucket, n]) => [Number(bucket), Number(n)])),
    minNs: Number(row.minNs),
    maxNs: Number(row.maxNs),
  };
  return {
    service: row.service,
    operation: row.operation,
    spanKind: row.spanKind,
    startS: Number(row.at),
    seconds,
    requests,
    errors,
    rate: seconds > 0 ? requests / seconds : 0,
    errorRatio: requests === 0 ? 0 : errors / requests,
    avgMs: requests === 0 ? 0 : ms(Number(row.sumNs) / requests),
    minMs: ms(histogram.minNs),
    maxMs: ms(histogram.maxNs),
    p50Ms: ms(histogramQuantile(histogram, 0.5)),
    p90Ms: ms(histogramQuantile(histogram, 0.9)),
    p99Ms: ms(histogramQuantile(histogram, 0.99)),
  };
}

/** Milliseconds with microsecond precision. */
function ms(ns: number): number {
  return Math.round(ns / 1_000) / 1_000;
}
