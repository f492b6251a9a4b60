import type { ClickHouseClient } from '@clickhouse/client';
import { CORRELATION_ID_ATTRIBUTE } from '../../../../exporters/clickhouse/logs-schema.js';
import { tolerateMissingTable } from '../stitch-routes.js';
import { encodeLogCursor, type LogCursor, type LogOrder } from './log-cursor.js';
import { LOG_COLUMNS, LOG_ROW_BYTES, logView, type LogFoundBy, type LogRow, type LogView } from './log-view.js';

/** Most records one page returns. */
export const MAX_LOG_LIMIT = 1000;
/** Most bytes of records (as JSON) one page returns; the page ends before the record that would pass it. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/** Most correlation IDs of one trace whose logs are added to the trace's own. */
export const MAX_TRACE_CORRELATION_IDS = 20;
/** Bytes of the page kept back for the answer's fields around the records. */
const PAGE_ENVELOPE_BYTES = 64 * 1024;
/** The longest correlation ID followed (as `correlation_id` takes). */
const MAX_CORRELATION_ID_CHARS = 512;

/** The engine's limits on one log query, whatever it asks. */
const LOG_READ_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  max_execution_time: 30,
  max_memory_usage: String(1024 * 1024 * 1024),
} as const;

/** Which records: every given condition holds (AND); `traceOrCorrelation` is the one OR. */
export interface LogFilter {
  traceId?: string;
  spanId?: string;
  correlationId?: string;
  /** The logs of a trace: its own, or any sharing one of `correlationIds` (each marked with how it was found). */
  traceOrCorrelation?: { traceId: string; correlationIds: readonly string[] };
  service?: string;
  /** SeverityNumber at least this (OTLP: 1–4 TRACE … 21–24 FATAL). */
  minSeverity?: number;
  /** Case-insensitive substring of the body. */
  text?: string;
  startNs?: bigint;
  endNs?: bigint;
}

export interface LogPageRequest {
  limit: number;
  order: LogOrder;
  cursor?: LogCursor;
}

export interface LogPage {
  logs: LogView[];
  /** Pass back as `cursor` for the records after these; absent on the last page. */
  nextCursor?: string;
  /** True when the byte cap ended the page before `limit` records. */
  byteCapped: boolean;
}

/**
 * One page of log records from `table` (qualified: the raw table or the caller's filtered view,
 * query/read-scope.ts), in time order or newest first. Ties on the timestamp are ordered by a
 * hash of the record, so a cursor (timestamp + records already seen at it) continues exactly.
 * A store without the log table answers an empty page.
 */
export async function readLogs(reader: ClickHouseClient, table: string, filter: LogFilter, page: LogPageRequest): Promise<LogPage> {
  const { conditions, params } = whereOf(filter);
  const direction = page.order === 'asc' ? 'ASC' : 'DESC';
  let offset = 0;
  if (page.cursor) {
    conditions.push(`Timestamp ${page.order === 'asc' ? '>=' : '<='} fromUnixTimestamp64Nano({cursorNs:Int64})`);
    params.cursorNs = page.cursor.timeNs.toString();
    offset = page.cursor.skip;
  }
  // Every stored field: records that tie on the hash are the same record twice, so their order cannot show.
  const tie = `cityHash64(ServiceName, TraceId, SpanId, Flags, SeverityText, SeverityNumber, Body, ObservedTimestamp, EventName,
    LogAttributes, ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, ScopeSchemaUrl, AttributeKinds,
    DroppedAttributesCount, ResourceDroppedAttributesCount, ScopeDroppedAttributesCount)`;
  const branch = (idCondition: string, foundBy: LogFoundBy | undefined) =>
    `SELECT ${LOG_COLUMNS}, Timestamp AS OrderTime, ${tie} AS OrderTie, ${LOG_ROW_BYTES} AS RowBytes${foundBy ? `, '${foundBy}' AS FoundBy` : ''} FROM ${table}
     WHERE ${[idCondition, ...conditions].filter(Boolean).join(' AND ') || '1'}`;
  // A trace's own records and those of its correlation IDs: one branch each, so each reads by its
  // own skip index (an OR of the two columns would let neither index skip anything).
  const around = filter.traceOrCorrelation;
  const branches = !around
    ? [branch('', undefined)]
    : around.correlationIds.length === 0
      ? [branch('TraceId = {traceId:String}', 'trace')]
      : [branch('TraceId = {traceId:String}', 'trace'), branch('CorrelationId IN {correlationIds:Array(String)} AND TraceId != {traceId:String}', 'correlation')];
  const order = `OrderTime ${direction}, OrderTie ${direction}`;
  // The engine drops the records after the page's bytes (what they add up to before each), so the
  // collector never holds more than about a page; PageRows says whether it dropped any.
  const query = `SELECT * FROM (
      SELECT *, sum(RowBytes) OVER (ORDER BY ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS BytesBefore, count() OVER () AS PageRows
      FROM (SELECT * FROM (${branches.join('\n UNION ALL \n')}) ORDER BY ${order} LIMIT {limit:UInt32} OFFSET {offset:UInt64})
    ) WHERE BytesBefore <= {maxBytes:UInt64}
    ORDER BY ${order}`;
  params.limit = page.limit + 1;
  params.offset = offset;
  params.maxBytes = MAX_PAGE_BYTES - PAGE_ENVELOPE_BYTES;
  const rows = await tolerateMissingTable(
    reader.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: LOG_READ_SETTINGS }).then((r) => r.json<LogRow & { FoundBy?: LogFoundBy; PageRows: string }>()),
    [],
  );
  const logs: LogView[] = [];
  // The answer's other fields (trace ID, ≤ 20 correlation IDs of ≤ 512 characters, cursor) fit in what is kept back.
  let bytes = PAGE_ENVELOPE_BYTES;
  let byteCapped = false;
  for (const row of rows.slice(0, page.limit)) {
    const view = logView(row);
    if (row.FoundBy) view.foundBy = row.FoundBy;
    const size = Buffer.byteLength(JSON.stringify(view)) + 1;
    // A record is never split: the first one goes out whatever its size (its body is already cut).
    if (logs.length > 0 && bytes + size > MAX_PAGE_BYTES) {
      byteCapped = true;
      break;
    }
    bytes += size;
    logs.push(view);
  }
  const droppedByEngine = rows.length > 0 && Number(rows[0]!.PageRows) > rows.length;
  const more = byteCapped || droppedByEngine || rows.length > page.limit;
  return { logs, byteCapped: byteCapped || droppedByEngine, nextCursor: more ? encodeLogCursor(nextCursor(logs, page)) : undefined };
}

/** After the last record returned: its timestamp, and how many records at that timestamp have been seen. */
function nextCursor(logs: readonly LogView[], page: LogPageRequest): LogCursor {
  const last = BigInt(logs[logs.length - 1]!.timeUnixNano);
  let skip = 0;
  for (let i = logs.length - 1; i >= 0 && BigInt(logs[i]!.timeUnixNano) === last; i--) skip++;
  // The whole page sat on the cursor's own timestamp: the ones skipped before count too.
  if (skip === logs.length && page.cursor && page.cursor.timeNs === last) skip += page.cursor.skip;
  return { timeNs: last, skip, order: page.order };
}

function whereOf(filter: LogFilter): { conditions: string[]; params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.traceId !== undefined) {
    conditions.push('TraceId = {traceId:String}');
    params.traceId = filter.traceId;
  }
  if (filter.traceOrCorrelation) {
    // Its conditions are the branches of readLogs' query.
    params.traceId = filter.traceOrCorrelation.traceId;
    params.correlationIds = filter.traceOrCorrelation.correlationIds;
  }
  if (filter.spanId !== undefined) {
    conditions.push('SpanId = {spanId:String}');
    params.spanId = filter.spanId;
  }
  if (filter.correlationId !== undefined) {
    conditions.push('CorrelationId = {correlationId:String}');
    params.correlationId = filter.correlationId;
  }
  if (filter.service !== undefined) {
    conditions.push('ServiceName = {service:String}');
    params.service = filter.service;
  }
  if (filter.minSeverity !== undefined) {
    conditions.push('SeverityNumber >= {minSeverity:UInt8}');
    params.minSeverity = filter.minSeverity;
  }
  if (filter.text !== undefined) {
    conditions.push('positionCaseInsensitiveUTF8(Body, {text:String}) > 0');
    params.text = filter.text;
  }
  // TimestampTime (seconds) is the table's key and partition: a condition on it prunes parts.
  if (filter.startNs !== undefined) {
    conditions.push('Timestamp >= fromUnixTimestamp64Nano({startNs:Int64}) AND TimestampTime >= toDateTime({startS:UInt32})');
    params.startNs = filter.startNs.toString();
    params.startS = clampSeconds(filter.startNs / 1_000_000_000n);
  }
  if (filter.endNs !== undefined) {
    conditions.push('Timestamp <= fromUnixTimestamp64Nano({endNs:Int64}) AND TimestampTime <= toDateTime({endS:UInt32})');
    params.endNs = filter.endNs.toString();
    params.endS = clampSeconds((filter.endNs + 999_999_999n) / 1_000_000_000n);
  }
  return { conditions, params };
}

/**
 * The correlation IDs of one trace: on its readable spans (the span table through the caller's
 * scope, narrowed to the trace's time range by the trace-ID table) and on its readable logs.
 */
export async function traceCorrelationIds(
  reader: ClickHouseClient,
  tables: { spans: string; logs: string },
  traceId: string,
  window: { startNs: bigint; endNs: bigint } | undefined,
): Promise<string[]> {
  const spanWindow = window ? ' AND Timestamp >= fromUnixTimestamp64Nano({startNs:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({endNs:Int64})' : '';
  const fromSpans = `SELECT SpanAttributes[{attribute:String}] AS id FROM ${tables.spans} WHERE TraceId = {traceId:String}${spanWindow}`;
  const fromLogs = `SELECT CorrelationId AS id FROM ${tables.logs} WHERE TraceId = {traceId:String}`;
  const params = { traceId, attribute: CORRELATION_ID_ATTRIBUTE, startNs: window?.startNs.toString() ?? '0', endNs: window?.endNs.toString() ?? '0', max: MAX_TRACE_CORRELATION_IDS };
  // Longer IDs than a correlation ID can be (parseCorrelationId) are not followed: sender-controlled, they would swell the answer past its byte cap.
  const distinct = (from: string) => `SELECT DISTINCT id FROM (${from}) WHERE id != '' AND lengthUTF8(id) <= ${MAX_CORRELATION_ID_CHARS} ORDER BY id LIMIT {max:UInt32}`;
  const read = async (from: string) =>
    tolerateMissingTable(
      reader.query({ query: distinct(from), query_params: params, format: 'JSONEachRow', clickhouse_settings: LOG_READ_SETTINGS }).then((r) => r.json<{ id: string }>()),
      [],
    );
  const [spans, logs] = await Promise.all([read(fromSpans), read(fromLogs)]);
  return [...new Set([...spans, ...logs].map((r) => r.id))].sort().slice(0, MAX_TRACE_CORRELATION_IDS);
}

function clampSeconds(seconds: bigint): number {
  return Number(seconds < 0n ? 0n : seconds > 0xffff_ffffn ? 0xffff_ffffn : seconds);
}
