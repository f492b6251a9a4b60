import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { hotspots, MAX_HOTSPOTS, MAX_WINDOW_NS, traceWindow, type Hotspots } from '../analysis/hotspots.js';
import type { ReadRules } from '../auth/principal.js';
import '../auth/request-principal.js';
import { parseLimit, parseText, parseTraceId, parseWindow, QueryParamError, single } from './params.js';
import type { ReadScopes } from './read-scope.js';

/**
 * `GET /api/hotspots?service=&operation=&traceId=&start=&end=&lookback=&limit=`: the methods that
 * burn the most self time (analysis/hotspots.ts), top `limit` (default 20, at most 100) with
 * call counts and their share of the total self time of every span matched.
 *
 * - `service`: spans of that service only; `operation`: traces whose root span has that name;
 *   `traceId`: one trace. All optional, combined with AND.
 * - Window: `start`/`end` (microseconds since the epoch or ISO-8601), or `lookback` before `end`
 *   (default 1h), at most 7 days wide. With `traceId` and none of them, the trace's own time range.
 * - Read through the caller's read scope (its filtered view of the span table): a token limited
 *   to some services sees only their methods, and their children only.
 */
export interface HotspotRouteDeps {
  reader: ClickHouseClient;
  readScopes: ReadScopes;
}

export const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;
export const DEFAULT_LIMIT = 20;

// JSON schemas: they validate and document the input, serialise the output, and feed the OpenAPI document.
const nano = { type: 'string', pattern: '^\\d+$', description: 'nanoseconds, as a decimal string' } as const;
const error = { type: 'object', properties: { error: { type: 'string' } } } as const;
const text = (description: string) => ({ type: 'string', description }) as const;

export const hotspotsSchema = {
  summary: 'Methods by self time, with call counts and share of the total',
  querystring: {
    type: 'object',
    properties: {
      service: text('only spans of this service'),
      operation: text('only traces whose root span has this name'),
      traceId: text('only this trace (32 hex digits)'),
      start: text('window start: microseconds since the epoch or ISO-8601'),
      end: text('window end (default now): microseconds since the epoch or ISO-8601'),
      lookback: text('window length before end when start is absent, e.g. 15m (default 1h; at most 7 days)'),
      limit: text(`methods returned, most self time first (default ${DEFAULT_LIMIT}, at most ${MAX_HOTSPOTS})`),
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        startTimeUnixNano: nano,
        endTimeUnixNano: nano,
        totalSelfNano: nano,
        totalCalls: { type: 'integer' },
        methodCount: { type: 'integer', description: 'distinct service + method pairs matched (may exceed the rows returned)' },
        hotspots: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              service: { type: 'string' },
              method: { type: 'string', description: 'code.namespace + code.function.name, or the span name' },
              calls: { type: 'integer' },
              errors: { type: 'integer' },
              selfNano: nano,
              totalNano: nano,
              share: { type: 'number', description: 'selfNano / totalSelfNano, 0 to 1' },
            },
          },
        },
      },
    },
    400: error,
    401: error,
    403: error,
    422: error,
  },
} as const;

export function registerHotspotRoutes(app: FastifyInstance, deps: HotspotRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/hotspots', { schema: hotspotsSchema }, async (req) => {
    const q = req.query;
    const service = parseText('service', q.service);
    const operation = parseText('operation', q.operation);
    const traceIdText = single('traceId', q.traceId);
    const traceId = traceIdText === undefined ? undefined : named('traceId', () => parseTraceId(traceIdText));
    const limit = parseLimit(q.limit, DEFAULT_LIMIT, MAX_HOTSPOTS);
    const { answer, startNs, endNs } = await hotspotsInScope(deps, req.principal.rules, { service, operation, traceId, limit, window: q });
    return toJson(answer, startNs, endNs);
  });
}

export interface HotspotRequest {
  service?: string;
  operation?: string;
  /** 32 lowercase hex digits (parseTraceId). */
  traceId?: string;
  limit: number;
  /** `start`, `end`, `lookback` as given (parseWindow); none of them with `traceId`: the trace's own range. */
  window: { start?: unknown; end?: unknown; lookback?: unknown };
}

/**
 * Hotspots read through the scope of `rules` (a token limited to some services sees only their
 * methods), over the request's window; shared by this route and the MCP hotspots tool.
 * QueryParamError for a window wider than MAX_WINDOW_NS.
 */
export async function hotspotsInScope(deps: HotspotRouteDeps, rules: ReadRules, request: HotspotRequest): Promise<{ answer: Hotspots; startNs: bigint; endNs: bigint }> {
  const { traceId, window } = request;
  const scope = await deps.readScopes.forRules(rules);
  const windowGiven = [window.start, window.end, window.lookback].some((v) => v !== undefined && v !== '');
  // The lookup table only narrows the window; the answer is read through the scope either way.
  const ofTrace = traceId !== undefined && !windowGiven ? await traceWindow(deps.reader, scope.traceTables.traceIds, traceId) : undefined;
  const { startNs, endNs } = ofTrace ?? parseWindow(window, DEFAULT_LOOKBACK_NS);
  if (endNs - startNs > MAX_WINDOW_NS) {
    const culprit = single('start', window.start) === undefined && single('lookback', window.lookback) !== undefined ? 'lookback' : 'start';
    throw new QueryParamError(`${culprit}: the window is at most 7 days (168h) wide`);
  }
  const answer = await hotspots(deps.reader, { table: scope.traceTables.traces, startNs, endNs, service: request.service, operation: request.operation, traceId, limit: request.limit });
  return { answer, startNs, endNs };
}

function toJson(answer: Hotspots, startNs: bigint, endNs: bigint) {
  return {
    startTimeUnixNano: startNs.toString(),
    endTimeUnixNano: endNs.toString(),
    totalSelfNano: answer.totalSelfNs.toString(),
    totalCalls: answer.totalCalls,
    methodCount: answer.methodCount,
    hotspots: answer.hotspots.map((h) => ({
      service: h.service,
      method: h.method,
      calls: h.calls,
      errors: h.errors,
      selfNano: h.selfNs.toString(),
      totalNano: h.totalNs.toString(),
      share: h.share,
    })),
  };
}

/** Runs a parser whose message names the value generically, naming the parameter instead. */
function named<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof QueryParamError) throw new QueryParamError(err.message.replace(/^trace ID:/, `${name}:`));
    throw err;
  }
}
