import type { ClickHouseClient } from '@clickhouse/client';
import { SPAN_COLUMNS, spanView, type SpanRow, type SpanView } from './span-view.js';
import { activeHotColumns } from '../storage/hot-attributes/hot-columns.js';
import { LOOKUP_END, LOOKUP_START } from './lookup-bounds.js';

export interface TraceTables {
  /** Quoted `db`.`otel_traces`. */
  traces: string;
  /** Quoted `db`.`otel_traces_trace_id_ts`. */
  traceIds: string;
}

/** A stored trace's time bounds (DateTime64(9) text, as the lookup table has them) and span count. */
export interface TraceLocation {
  traceId: string;
  start: string;
  end: string;
  spans: number;
}

export interface TraceSearch {
  service?: string;
  operation?: string;
  tags: Array<[string, string]>;
  minDurationNs?: bigint;
  maxDurationNs?: bigint;
  /** Only a span with status Error matches. */
  errorsOnly?: boolean;
  startNs: bigint;
  endNs: bigint;
  limit: number;
}

export interface TraceSummary {
  traceId: string;
  rootServiceName: string;
  rootSpanName: string;
  startTimeUnixNano: string;
  durationNano: string;
  spanCount: number;
  errorCount: number;
  services: string[];
}

/** Every 64-bit integer as a JSON string, so no digit is lost on the way to JavaScript. */
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

/**
 * The query API's reads over `otel_traces`, all through the reader session. A principal with
 * read rules reads through {@link withTables} (its filtered views, see read-scope.ts).
 */
export class TraceStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly tables: TraceTables,
  ) {}

  /** The same reads over other tables of the same shape (a read scope's filtered views). */
  withTables(tables: TraceTables): TraceStore {
    return new TraceStore(this.client, tables);
  }

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await this.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS });
    return result.json<T>();
  }

  /**
   * Where a trace is and how big: its time bounds from the trace-ID lookup table, then a count
   * over those bounds that reads only TraceId and Timestamp (no attributes, no events), so a
   * caller can refuse an oversized trace before loading it. Undefined when no span is stored.
   */
  async locate(traceId: string): Promise<TraceLocation | undefined> {
    const [bounds] = await this.rows<{ start: string; end: string; n: string }>(
      `SELECT toString(${LOOKUP_START}) AS start, toString(${LOOKUP_END}) AS end, count() AS n
       FROM ${this.tables.traceIds} WHERE TraceId = {id:String}`,
      { id: traceId },
    );
    if (!bounds || bounds.n === '0') return undefined;
    const [counted] = await this.rows<{ n: string }>(
      `SELECT count() AS n FROM ${this.tables.traces}
       WHERE TraceId = {id:String} AND Timestamp >= {start:DateTime64(9)} AND Timestamp <= {end:DateTime64(9)}`,
      { id: traceId, start: bounds.start, end: bounds.end },
    );
    const spans = Number(counted?.n ?? 0);
    // A read scope's filtered view may hide every span of a trace the lookup table knows.
    return spans === 0 ? undefined : { traceId, start: bounds.start, end: bounds.end, spans };
  }

  /**
   * The whole trace ordered by start, or undefined when no span of it is stored. `location`
   * (from {@link locate}) saves the lookup-table read when the caller already has it.
   */
  async getTrace(traceId: string, location?: TraceLocation): Promise<SpanView[] | undefined> {
    const known = location?.traceId === traceId ? location : undefined;
    // The lookup table narrows the scan of otel_traces to the trace's own time range: the
    // bounds come from `location`, or from a scalar subquery in the same statement (one round
    // trip; ClickHouse evaluates it first, so partition and primary-key pruning still apply).
    const lookup = `(SELECT (${LOOKUP_START}, ${LOOKUP_END}) FROM ${this.tables.traceIds} WHERE TraceId = {id:String})`;
    const [start, end] = known ? ['{start:DateTime64(9)}', '{end:DateTime64(9)}'] : ['bounds.1', 'bounds.2'];
    const rows = await this.rows<SpanRow>(
      `${known ? '' : `WITH ${lookup} AS bounds `}SELECT ${SPAN_COLUMNS} FROM ${this.tables.traces}
       WHERE TraceId = {id:String} AND Timestamp >= ${start} AND Timestamp <= ${end}
       ORDER BY Timestamp, SpanId`,
      known ? { id: traceId, start: known.start, end: known.end } : { id: traceId },
    );
    return rows.length === 0 ? undefined : rows.map(spanView);
  }

  /** Traces with at least one span matching every condition, newest first. */
  async searchTraces(search: TraceSearch): Promise<TraceSummary[]> {
    const where = ['Timestamp >= fromUnixTimestamp64Nano({start:Int64})', 'Timestamp <= fromUnixTimestamp64Nano({end:Int64})'];
    const params: Record<string, unknown> = { start: search.startNs.toString(), end: search.endNs.toString(), limit: search.limit };
    if (search.service) {
      where.push('ServiceName = {service:String}');
      params.service = search.service;
    }
    if (search.operation) {
      where.push('SpanName = {operation:String}');
      params.operation = search.operation;
    }
    if (search.minDurationNs !== undefined) {
      where.push('Duration >= {minDuration:UInt64}');
      params.minDuration = search.minDurationNs.toString();
    }
    if (search.maxDurationNs !== undefined) {
      where.push('Duration <= {maxDuration:UInt64}');
      params.maxDuration = search.maxDurationNs.toString();
    }
    if (search.errorsOnly) where.push("StatusCode = 'Error'");
    const hot = activeHotColumns();
    search.tags.forEach(([key, value], i) => {
      // A hot attribute's column is `SpanAttributes[key]` stored apart: the same value, a narrower read.
      const span = hot.column(key) ?? `SpanAttributes[{k${i}:String}]`;
      where.push(`(${span} = {v${i}:String} OR ResourceAttributes[{k${i}:String}] = {v${i}:String})`);
      params[`k${i}`] = key;
      params[`v${i}`] = value;
    });
    const found = await this.rows<{ TraceId: string }>(
      `SELECT TraceId FROM ${this.tables.traces} WHERE ${where.join(' AND ')}
       GROUP BY TraceId ORDER BY min(Timestamp) DESC LIMIT {limit:UInt32}`,
      params,
    );
    if (found.length === 0) return [];
    const ids = found.map((r) => r.TraceId);
    const summaries = await this.rows<TraceSummary>(
      `WITH bounds AS (SELECT ${LOOKUP_START} AS s, ${LOOKUP_END} AS e FROM ${this.tables.traceIds} WHERE TraceId IN {ids:Array(String)})
       SELECT TraceId AS traceId,
         argMinIf(ServiceName, Timestamp, ParentSpanId = '') AS rootServiceName,
         argMinIf(SpanName, Timestamp, ParentSpanId = '') AS rootSpanName,
         toString(min(toUnixTimestamp64Nano(Timestamp))) AS startTimeUnixNano,
         toString(max(toUnixTimestamp64Nano(Timestamp) + Duration) - min(toUnixTimestamp64Nano(Timestamp))) AS durationNano,
         count() AS spanCount, countIf(StatusCode = 'Error') AS errorCount,
         arraySort(groupUniqArray(ServiceName)) AS services
       FROM ${this.tables.traces}
       WHERE TraceId IN {ids:Array(String)} AND Timestamp >= (SELECT s FROM bounds) AND Timestamp <= (SELECT e FROM bounds)
       GROUP BY TraceId`,
      { ids },
    );
    const byId = new Map(summaries.map((s) => [s.traceId, { ...s, spanCount: Number(s.spanCount), errorCount: Number(s.errorCount) }]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async services(): Promise<string[]> {
    const rows = await this.rows<{ ServiceName: string }>(
      `SELECT ServiceName FROM ${this.tables.traces} GROUP BY ServiceName ORDER BY ServiceName`,
    );
    return rows.map((r) => r.ServiceName);
  }

  async operations(service: string): Promise<Array<{ name: string; spanKind: string }>> {
    return this.rows<{ name: string; spanKind: string }>(
      `SELECT SpanName AS name, SpanKind AS spanKind FROM ${this.tables.traces}
       WHERE ServiceName = {service:String} GROUP BY SpanName, SpanKind ORDER BY SpanName, SpanKind`,
      { service },
    );
  }
}
