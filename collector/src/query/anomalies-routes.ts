import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_ANOMALY_OPTIONS, detectAnomalies, type Anomaly, type RedSeries } from '../analysis/anomalies.js';
import type { ReadRules } from '../auth/principal.js';
import '../auth/request-principal.js';
import { queryRed } from '../metrics/red/query.js';
import { parseDuration, parseText, QueryParamError, single } from './params.js';
import type { ReadScopes } from './read-scope.js';

/**
 * `GET /api/anomalies?service=&operation=&lookback=&window=&baseline=&threshold=&minRequests=`:
 * windows of the last `lookback` in which an operation's latency p99 or error rate rose far above
 * its own baseline (analysis/anomalies.ts: median and MAD of the N windows before, score in MADs).
 *
 * - Series: per service, operation and span kind, from the per-minute RED rows (`flowtrace_red`,
 *   counted before sampling) summed into `window`-long windows aligned on the minute after now.
 *   `window` a whole number of minutes (default 5m, 1m…1h); `lookback` the span of windows
 *   judged (default = one window, at most 24h and 288 windows); `baseline` N (default 12, 4…100)
 *   windows before each are read as its baseline; `threshold` k (default 5, 1…100) in scaled MADs;
 *   `minRequests` (default 20) per window, thinner windows are skipped.
 * - Evidence per anomaly: the baseline (median, MAD, windows), current value, spread, score,
 *   window, and up to 3 example trace IDs from that window — the slowest spans of that service
 *   and operation for latency, the slowest failing ones for errors — read from the stored
 *   (sampled) spans, so there may be fewer than 3, or none.
 * - Under the `read` scope and the caller's read rules: RED through the services the token may
 *   read (environment-limited tokens get 403, as RED is not kept per environment); examples
 *   through the caller's filtered view of the span table.
 */
export interface AnomalyRouteDeps {
  reader: ClickHouseClient;
  database: string;
  readScopes: ReadScopes;
}

const NS_PER_S = 1_000_000_000n;
const DEFAULT_WINDOW_S = 300;
const MAX_WINDOW_S = 3_600;
const MAX_LOOKBACK_S = 86_400;
const MAX_JUDGED_WINDOWS = 288;
const MAX_ANOMALIES = 100;
const EXAMPLES = 3;
/** RED rows read at most: series × windows; more means too many operations for one request. */
const MAX_RED_ROWS = 100_000;

const error = { type: 'object', properties: { error: { type: 'string' } } } as const;
const text = (description: string) => ({ type: 'string', description }) as const;
const num = (description: string) => ({ type: 'number', description }) as const;

export const anomaliesSchema = {
  summary: 'Operations whose latency p99 or error rate rose far above their own recent baseline (median and MAD)',
  querystring: {
    type: 'object',
    properties: {
      service: text('only this service'),
      operation: text('only this operation (span name)'),
      window: text(`window length, a whole number of minutes (default 5m, at most 1h)`),
      lookback: text('how far back windows are judged, e.g. 1h (default one window; at most 24h)'),
      baseline: text(`N: windows before each judged window forming its baseline (default ${DEFAULT_ANOMALY_OPTIONS.baselineWindows}, 4 to 100)`),
      threshold: text(`k: score, in scaled MADs, at which a window is anomalous (default ${DEFAULT_ANOMALY_OPTIONS.threshold}, 1 to 100)`),
      minRequests: text(`windows with fewer requests are skipped (default ${DEFAULT_ANOMALY_OPTIONS.minRequests}, 1 to 1000000)`),
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        windowSeconds: { type: 'integer' },
        judgedFromUnixNano: { type: 'string' },
        endTimeUnixNano: { type: 'string' },
        method: { type: 'string' },
        anomalies: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              service: { type: 'string' },
              operation: { type: 'string' },
              spanKind: { type: 'string' },
              metric: { type: 'string', enum: ['latency_p99', 'error_rate'] },
              startTimeUnixNano: { type: 'string' },
              seconds: { type: 'integer' },
              requests: { type: 'integer' },
              errors: { type: 'integer' },
              current: num('p99 in ms, or error rate 0 to 1'),
              baseline: {
                type: 'object',
                properties: { median: { type: 'number' }, mad: { type: 'number' }, windows: { type: 'integer' } },
              },
              spread: num('max(MAD × 1.4826, floor)'),
              score: num('(current − median) / spread'),
              exampleTraceIds: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    400: error,
    401: error,
    403: error,
  },
} as const;

export interface AnomalyRequest {
  service?: string;
  operation?: string;
  windowS: number;
  lookbackS: number;
  baselineWindows: number;
  threshold: number;
  minRequests: number;
  /** Seconds since the epoch; default now. */
  nowS?: number;
}

export interface AnomalyAnswer {
  windowS: number;
  judgeFromS: number;
  toS: number;
  anomalies: (Anomaly & { exampleTraceIds: string[] })[];
}

export function registerAnomalyRoutes(app: FastifyInstance, deps: AnomalyRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/anomalies', { schema: anomaliesSchema }, async (req) => {
    const answer = await anomaliesInScope(deps, req.principal.rules, parseAnomalyRequest(req.query));
    return {
      windowSeconds: answer.windowS,
      judgedFromUnixNano: (BigInt(answer.judgeFromS) * NS_PER_S).toString(),
      endTimeUnixNano: (BigInt(answer.toS) * NS_PER_S).toString(),
      method: 'robust z-score: (current − median of the N baseline windows) / max(1.4826 × MAD, floor) ≥ k',
      anomalies: answer.anomalies.map(({ startS, ...a }) => ({ ...a, startTimeUnixNano: (BigInt(startS) * NS_PER_S).toString() })),
    };
  });
}

export function parseAnomalyRequest(q: Record<string, unknown>): AnomalyRequest {
  const windowS = minutes('window', q.window, DEFAULT_WINDOW_S);
  if (windowS > MAX_WINDOW_S) throw new QueryParamError('window: at most 1h');
  const lookbackS = minutes('lookback', q.lookback, windowS);
  if (lookbackS > MAX_LOOKBACK_S) throw new QueryParamError('lookback: at most 24h');
  if (lookbackS < windowS) throw new QueryParamError('lookback: at least one window long');
  if (Math.ceil(lookbackS / windowS) > MAX_JUDGED_WINDOWS) throw new QueryParamError(`lookback: at most ${MAX_JUDGED_WINDOWS} windows; use a longer window`);
  return {
    service: parseText('service', q.service) || undefined,
    operation: parseText('operation', q.operation) || undefined,
    windowS,
    lookbackS,
    baselineWindows: integer('baseline', q.baseline, DEFAULT_ANOMALY_OPTIONS.baselineWindows, 4, 100),
    threshold: number('threshold', q.threshold, DEFAULT_ANOMALY_OPTIONS.threshold, 1, 100),
    minRequests: integer('minRequests', q.minRequests, DEFAULT_ANOMALY_OPTIONS.minRequests, 1, 1_000_000),
  };
}

/** Anomalies of the series the rules let the caller read, with example traces read through its scope; shared with the MCP tool. */
export async function anomaliesInScope(deps: AnomalyRouteDeps, rules: ReadRules, r: AnomalyRequest): Promise<AnomalyAnswer> {
  if (rules.environments?.length) {
    throw Object.assign(new Error('RED metrics are not kept per environment, so a principal limited to some environments cannot read anomalies'), { statusCode: 403 });
  }
  const nowS = r.nowS ?? Math.floor(Date.now() / 1000);
  // Windows end at the minute after now (the current minute included), judged ones last.
  const toS = Math.ceil((nowS + 1) / 60) * 60;
  const judged = Math.ceil(r.lookbackS / r.windowS);
  const judgeFromS = toS - judged * r.windowS;
  const fromS = judgeFromS - r.baselineWindows * r.windowS;
  const points = await queryRed(deps.reader, deps.database, {
    fromS,
    toS,
    stepS: r.windowS,
    service: r.service,
    operation: r.operation,
    services: rules.services?.length ? rules.services : undefined,
    limit: MAX_RED_ROWS + 1,
  });
  if (points.length > MAX_RED_ROWS) throw new QueryParamError('service: too many operations to judge at once; name a service or operation');
  const series = new Map<string, RedSeries & { windows: RedSeries['windows'][number][] }>();
  for (const p of points) {
    const key = JSON.stringify([p.service, p.operation, p.spanKind]);
    let s = series.get(key);
    if (!s) series.set(key, (s = { service: p.service, operation: p.operation, spanKind: p.spanKind, windows: [] }));
    s.windows.push({ startS: p.startS, requests: p.requests, errors: p.errors, p99Ms: p.p99Ms });
  }
  const found = detectAnomalies([...series.values()], {
    ...DEFAULT_ANOMALY_OPTIONS,
    windowS: r.windowS,
    judgeFromS,
    baselineWindows: r.baselineWindows,
    minBaselineWindows: Math.min(DEFAULT_ANOMALY_OPTIONS.minBaselineWindows, r.baselineWindows),
    threshold: r.threshold,
    minRequests: r.minRequests,
  }).slice(0, MAX_ANOMALIES);
  const scope = await deps.readScopes.forRules(rules);
  const anomalies = [];
  for (const a of found) anomalies.push({ ...a, exampleTraceIds: await examples(deps.reader, scope.traceTables.traces, a) });
  return { windowS: r.windowS, judgeFromS, toS, anomalies };
}

/** Up to 3 traces with the slowest (failing, for errors) spans of the anomaly's operation in its window. */
async function examples(reader: ClickHouseClient, table: string, a: Anomaly): Promise<string[]> {
  const failing = a.metric === 'error_rate' ? "AND StatusCode = 'Error'" : '';
  const result = await reader.query({
    query: `SELECT TraceId AS traceId, max(Duration) AS d FROM ${table}
      WHERE Timestamp >= toDateTime64({from:UInt32}, 9, 'UTC') AND Timestamp < toDateTime64({to:UInt32}, 9, 'UTC')
        AND ServiceName = {service:String} AND SpanName = {operation:String} AND SpanKind = {kind:String} ${failing}
      GROUP BY traceId ORDER BY d DESC, traceId LIMIT {n:UInt32}`,
    query_params: { from: a.startS, to: a.startS + a.seconds, service: a.service, operation: a.operation, kind: a.spanKind, n: EXAMPLES },
    format: 'JSONEachRow',
  });
  return (await result.json<{ traceId: string }>()).map((r) => r.traceId);
}

function minutes(name: string, value: unknown, fallback: number): number {
  const textValue = single(name, value);
  if (textValue === undefined) return fallback;
  const ns = parseDuration(name, textValue);
  if (ns < 60n * NS_PER_S || ns % (60n * NS_PER_S) !== 0n) throw new QueryParamError(`${name}: must be a whole number of minutes (1m, 5m, 1h…), got ${JSON.stringify(textValue)}`);
  if (ns > 366n * 86_400n * NS_PER_S) throw new QueryParamError(`${name}: too long`);
  return Number(ns / NS_PER_S);
}

function number(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const textValue = single(name, value);
  if (textValue === undefined) return fallback;
  const n = /^\d{1,7}(\.\d{1,6})?$/.test(textValue) ? Number(textValue) : NaN;
  if (!(n >= min && n <= max)) throw new QueryParamError(`${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(textValue)}`);
  return n;
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const n = number(name, value, fallback, min, max);
  if (!Number.isInteger(n)) throw new QueryParamError(`${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(single(name, value))}`);
  return n;
}
