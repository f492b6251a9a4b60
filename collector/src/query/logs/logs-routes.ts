import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { LOGS_TABLE } from '../../../../exporters/clickhouse/logs-schema.js';
import { traceWindow } from '../../analysis/hotspots.js';
import type { ReadRules } from '../../auth/principal.js';
import '../../auth/request-principal.js';
import { parseTraceId } from '../params.js';
import type { ReadScopes } from '../read-scope.js';
import { nanoString, openObject, queryText, readErrors, traceIdParams } from '../route-schemas.js';
import { DEFAULT_LOG_LIMIT, parseLogQuery, parsePage, parseSeverity, refuseUnknown, TRACE_LOG_QUERY_PARAMETERS } from './log-params.js';
import { MAX_LOG_LIMIT, MAX_PAGE_BYTES, MAX_TRACE_CORRELATION_IDS, readLogs, traceCorrelationIds, type LogFilter, type LogPage, type LogPageRequest } from './log-reads.js';
import { MAX_ATTRIBUTE_ENTRIES, MAX_ATTRIBUTE_VALUE_CHARS, MAX_BODY_CHARS, MAX_RECORD_ATTRIBUTE_BYTES } from './log-view.js';

export interface LogRouteDeps {
  reader: ClickHouseClient;
  /** Read rules: a restricted principal reads its filtered views of otel_logs and the span table. */
  readScopes: ReadScopes;
}

const attributes = openObject('attribute values typed as sent: string, number, boolean, array or object');

/** One log record (log-view.ts `LogView`). */
export const logViewSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    timeUnixNano: nanoString,
    observedTimeUnixNano: nanoString,
    traceId: { type: 'string', description: 'empty when the record had no trace context' },
    spanId: { type: 'string' },
    flags: { type: 'integer' },
    severityText: { type: 'string' },
    severityNumber: { type: 'integer', description: 'OTLP: 1–4 TRACE, 5–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL; 0 unset' },
    serviceName: { type: 'string' },
    body: { description: `a string body as sent (any other kind as JSON), at most ${MAX_BODY_CHARS} characters` },
    bodyTruncated: { type: 'boolean', description: 'present (true) only when the body was cut' },
    attributesTruncated: {
      type: 'boolean',
      description: `present (true) only when the record's attribute maps passed ${MAX_RECORD_ATTRIBUTE_BYTES / 1024} KiB and were cut (${MAX_ATTRIBUTE_ENTRIES} entries a map, values ${MAX_ATTRIBUTE_VALUE_CHARS} characters, as strings)`,
    },
    eventName: { type: 'string' },
    correlationId: { type: 'string', description: 'the flowtrace.correlation_id attribute, empty when absent' },
    attributes,
    droppedAttributesCount: { type: 'integer' },
    resource: { type: 'object', additionalProperties: true, properties: { attributes, droppedAttributesCount: { type: 'integer' }, schemaUrl: { type: 'string' } } },
    scope: {
      type: 'object',
      additionalProperties: true,
      properties: { name: { type: 'string' }, version: { type: 'string' }, attributes, droppedAttributesCount: { type: 'integer' }, schemaUrl: { type: 'string' } },
    },
    foundBy: { type: 'string', enum: ['trace', 'correlation'], description: 'logs of a trace only: it names the trace, or shares a correlation ID with it' },
  },
} as const;

const pageQuery = {
  order: queryText('asc (time order) or desc (newest first)'),
  limit: queryText(`records returned (default ${DEFAULT_LOG_LIMIT}, at most ${MAX_LOG_LIMIT}; a page also ends before ${MAX_PAGE_BYTES / 1024 / 1024} MiB of records)`),
  cursor: queryText('nextCursor of the previous page, with the same parameters'),
} as const;

const pageProperties = {
  logs: { type: 'array', items: logViewSchema },
  nextCursor: { type: 'string', description: 'absent on the last page' },
  byteCapped: { type: 'boolean', description: 'the page ended early at the byte cap' },
} as const;

const logsSchema = {
  summary: 'Log records by trace, span or correlation ID, or by service, severity and text over a time window',
  querystring: {
    type: 'object',
    properties: {
      trace_id: queryText('records of this trace (32 hex digits)'),
      span_id: queryText('records of this span (16 hex digits)'),
      correlation_id: queryText('records carrying this flowtrace.correlation_id (found even when trace context was lost)'),
      service: queryText('records of this service'),
      severity: queryText('this severity or worse: trace, debug, info, warn, error, fatal, or a SeverityNumber 1–24'),
      text: queryText('case-insensitive substring of the body (at most 256 characters)'),
      start: queryText('window start: microseconds since the epoch or ISO-8601'),
      end: queryText('window end (default now): microseconds since the epoch or ISO-8601'),
      lookback: queryText('window length before end when start is absent (default 1h); without an ID the window is at most 7 days; with an ID and none of start/end/lookback, all time'),
      ...pageQuery,
    },
  },
  response: { 200: { type: 'object', properties: pageProperties }, ...readErrors },
} as const;

const traceLogsSchema = {
  summary: "A trace's log records, and those sharing its correlation IDs (foundBy says which), in time order",
  params: traceIdParams,
  querystring: {
    type: 'object',
    properties: { severity: queryText('this severity or worse: trace, debug, info, warn, error, fatal, or 1–24'), ...pageQuery, order: queryText('asc (time order, default) or desc (newest first)') },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        traceId: { type: 'string' },
        correlationIds: { type: 'array', items: { type: 'string' }, description: `the trace's correlation IDs whose records are included (at most ${MAX_TRACE_CORRELATION_IDS})` },
        ...pageProperties,
      },
    },
    ...readErrors,
  },
} as const;

/**
 * `GET /api/logs` and `GET /api/traces/:traceId/logs`: the read side of otel_logs, through the
 * caller's read scope (query/read-scope.ts), so a token limited to some services or environments
 * reads only their records, as with spans.
 */
export function registerLogRoutes(app: FastifyInstance, deps: LogRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/logs', { schema: logsSchema }, async (req) => {
    const { filter, page } = parseLogQuery(req.query);
    return pageJson(await logsInScope(deps, req.principal.rules, filter, page));
  });

  app.get<{ Params: { traceId: string }; Querystring: Record<string, unknown> }>('/api/traces/:traceId/logs', { schema: traceLogsSchema }, async (req) => {
    refuseUnknown(req.query, TRACE_LOG_QUERY_PARAMETERS);
    const traceId = parseTraceId(req.params.traceId);
    const minSeverity = parseSeverity(req.query.severity);
    const { correlationIds, page } = await traceLogsInScope(deps, req.principal.rules, traceId, parsePage(req.query, 'asc'), minSeverity);
    return { traceId, correlationIds, ...pageJson(page) };
  });
}

/** One page of records matching `filter`, read through the scope of `rules`; shared with the MCP tool. */
export async function logsInScope(deps: LogRouteDeps, rules: ReadRules, filter: LogFilter, page: LogPageRequest): Promise<LogPage> {
  const scope = await deps.readScopes.forRules(rules);
  return readLogs(deps.reader, scope.table(LOGS_TABLE), filter, page);
}

/**
 * A trace's records and those of its correlation IDs (read on its readable spans and records),
 * so a log line written where trace context was lost (a queue consumer, a thread pool) still
 * shows beside the trace; shared with the MCP tool.
 */
export async function traceLogsInScope(
  deps: LogRouteDeps,
  rules: ReadRules,
  traceId: string,
  page: LogPageRequest,
  /** Only records of this SeverityNumber or above. */
  minSeverity?: number,
): Promise<{ correlationIds: string[]; page: LogPage }> {
  const scope = await deps.readScopes.forRules(rules);
  const logs = scope.table(LOGS_TABLE);
  const window = await traceWindow(deps.reader, scope.traceTables.traceIds, traceId);
  const correlationIds = await traceCorrelationIds(deps.reader, { spans: scope.traceTables.traces, logs }, traceId, window);
  return { correlationIds, page: await readLogs(deps.reader, logs, { traceOrCorrelation: { traceId, correlationIds }, minSeverity }, page) };
}

function pageJson(page: LogPage) {
  return { logs: page.logs, byteCapped: page.byteCapped, ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}) };
}
