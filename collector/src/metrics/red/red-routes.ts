import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import type { ReadRules } from '../../auth/principal.js';
import '../../auth/request-principal.js';
import { SPAN_KIND_NAMES } from '../../../../exporters/clickhouse/index.js';
import { parseDuration, parseLimit, parseText, parseWindow, QueryParamError, single } from '../../query/params.js';
import { queryRed } from './query.js';
import type { RedTotals } from './prometheus.js';

/**
 * `GET /api/metrics/red?service=&operation=&spanKind=&start=&end=&lookback=&step=&limit=`:
 * requests, rate, errors and duration quantiles per service, operation and span kind, summed
 * from the stored minutes (query.ts). The window is widened to whole minutes (start rounded
 * down, end up), default the last hour, at most 31 days; `step` (a multiple of 1m) splits it
 * into points, at most 1440 of them.
 *
 * `GET /api/metrics/red/prometheus`: the same counts since the collector started, in the
 * Prometheus text format (prometheus.ts), for scrapers.
 *
 * Both under the `read` scope (`/api/*` in auth/route-access.ts) and the caller's read rules:
 * a token limited to some services sees only theirs. RED is not kept per environment, so a
 * token limited by environment is refused (403) rather than shown other environments' traffic.
 */
export interface RedRouteDeps {
  reader: ClickHouseClient;
  database: string;
  totals: RedTotals;
}

const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;
const NS_PER_S = 1_000_000_000n;
const MAX_WINDOW_S = 31 * 86_400;
const MAX_POINTS_PER_SERIES = 1_440;
const DEFAULT_LIMIT = 1_000;
const MAX_LIMIT = 10_000;
const KINDS: readonly string[] = SPAN_KIND_NAMES;
const MAX_DATETIME_S = 4_294_967_295;

const error = { type: 'object', properties: { error: { type: 'string' } } } as const;
const text = (description: string) => ({ type: 'string', description }) as const;
const num = (description: string) => ({ type: 'number', description }) as const;

export const redSchema = {
  summary: 'RED metrics (rate, errors, duration p50/p90/p99) per service, operation and span kind, counted before sampling',
  querystring: {
    type: 'object',
    properties: {
      service: text('only this service'),
      operation: text('only this operation (span name); `__other__` holds operations beyond the cardinality cap'),
      spanKind: text(`only this span kind: ${SPAN_KIND_NAMES.join(', ')}`),
      start: text('window start: microseconds since the epoch or ISO-8601 (rounded down to the minute)'),
      end: text('window end (default now; rounded up to the minute)'),
      lookback: text('window length before end when start is absent, e.g. 15m (default 1h; at most 31 days)'),
      step: text('split the window into points this long, a multiple of 1m (e.g. 5m); default one point'),
      limit: text(`rows returned at most (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`),
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        startTimeUnixNano: { type: 'string' },
        endTimeUnixNano: { type: 'string' },
        stepSeconds: { type: 'integer' },
        points: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              service: { type: 'string' },
              operation: { type: 'string' },
              spanKind: { type: 'string' },
              startTimeUnixNano: { type: 'string' },
              seconds: { type: 'integer' },
              requests: { type: 'integer' },
              errors: { type: 'integer' },
              rate: num('requests per second'),
              errorRatio: num('errors / requests, 0 to 1'),
              avgMs: num('mean duration'),
              minMs: num('shortest'),
              maxMs: num('longest'),
              p50Ms: num('median, within about 9 %'),
              p90Ms: num('90th percentile, within about 9 %'),
              p99Ms: num('99th percentile, within about 9 %'),
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

export const prometheusSchema = {
  summary: 'RED counters and duration histograms since the collector started, in the Prometheus text format',
  response: {
    200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
    401: error,
    403: error,
  },
} as const;

export function registerRedRoutes(app: FastifyInstance, deps: RedRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/metrics/red', { schema: redSchema }, async (req) => {
    const q = req.query;
    const services = allowedServices(req.principal.rules);
    const { startNs, endNs } = parseWindow(q, DEFAULT_LOOKBACK_NS);
    if (endNs - startNs > BigInt(MAX_WINDOW_S) * NS_PER_S) {
      const culprit = single('start', q.start) === undefined && single('lookback', q.lookback) !== undefined ? 'lookback' : 'start';
      throw new QueryParamError(`${culprit}: the window is at most 31 days (744h) wide`);
    }
    const fromS = Number(startNs / NS_PER_S / 60n) * 60;
    const toS = Number((endNs + 60n * NS_PER_S - 1n) / NS_PER_S / 60n) * 60;
    if (toS > MAX_DATETIME_S) throw new QueryParamError('end: must be before 2106 (the stored minutes are 32-bit seconds)');
    const stepS = parseStep(q.step, toS - fromS);
    const spanKind = parseText('spanKind', q.spanKind);
    if (spanKind !== undefined && spanKind !== '' && !KINDS.includes(spanKind)) {
      throw new QueryParamError(`spanKind: expected one of ${SPAN_KIND_NAMES.join(', ')}, got ${JSON.stringify(spanKind)}`);
    }
    const points = await queryRed(deps.reader, deps.database, {
      fromS,
      toS,
      stepS,
      service: parseText('service', q.service) || undefined,
      operation: parseText('operation', q.operation) || undefined,
      spanKind: spanKind || undefined,
      services,
      limit: parseLimit(q.limit, DEFAULT_LIMIT, MAX_LIMIT),
    });
    return {
      startTimeUnixNano: (BigInt(fromS) * NS_PER_S).toString(),
      endTimeUnixNano: (BigInt(toS) * NS_PER_S).toString(),
      stepSeconds: stepS ?? toS - fromS,
      points: points.map(({ startS, ...p }) => ({ ...p, startTimeUnixNano: (BigInt(startS) * NS_PER_S).toString() })),
    };
  });

  app.get('/api/metrics/red/prometheus', { schema: prometheusSchema }, async (req, reply) => {
    allowedServices(req.principal.rules);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.totals.exposition(req.principal.rules));
  });
}

/** The services the rules let the caller read (undefined: all); 403 for environment rules, which RED cannot honour. */
function allowedServices(rules: ReadRules): string[] | undefined {
  if (rules.environments?.length) {
    throw Object.assign(new Error('RED metrics are not kept per environment, so a principal limited to some environments cannot read them'), { statusCode: 403 });
  }
  return rules.services?.length ? rules.services : undefined;
}

function parseStep(value: unknown, windowS: number): number | undefined {
  const text = single('step', value);
  if (text === undefined || text === '') return undefined;
  const ns = parseDuration('step', text);
  if (ns < 60n * NS_PER_S || ns % (60n * NS_PER_S) !== 0n) throw new QueryParamError(`step: must be a whole number of minutes (1m, 5m, 1h…), got ${JSON.stringify(text)}`);
  const stepS = Number(ns / NS_PER_S);
  if (Math.ceil(windowS / stepS) > MAX_POINTS_PER_SERIES) throw new QueryParamError(`step: at most ${MAX_POINTS_PER_SERIES} points per series; use a step of at least ${Math.ceil(windowS / MAX_POINTS_PER_SERIES / 60)}m for this window`);
  return stepS;
}
