import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import '../auth/request-principal.js';
import { codeMethods, CodePathError, DEFAULT_CODE_METHODS, MAX_CODE_METHODS, MAX_CODE_WINDOW_NS, MAX_PATH_LENGTH, normaliseCodePath, type CodeMethods } from './code-methods.js';
import { parseLimit, parseText, parseWindow, QueryParamError, single } from './params.js';
import type { ReadScopes } from './read-scope.js';

/**
 * `GET /api/code/methods?path=&service=&start=&end=&lookback=&limit=`: the method spans of one
 * source file aggregated per function (calls, errors, p50/p99, last call, the slowest call's
 * trace), for editors
 * (integrations/vscode's CodeLens). Path matching and bounds: query/code-methods.ts. `read`
 * scope (the `GET /api/*` rule of auth/route-access.ts); read through the caller's read scope.
 */
export interface CodeRouteDeps {
  reader: ClickHouseClient;
  readScopes: ReadScopes;
}

export const CODE_METHODS_PATH = '/api/code/methods';
const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;

const nano = { type: 'string', pattern: '^\\d+$', description: 'nanoseconds, as a decimal string' } as const;
const error = { type: 'object', properties: { error: { type: 'string' } } } as const;
const text = (description: string) => ({ type: 'string', description }) as const;

export const codeMethodsSchema = {
  summary: 'Method spans of one source file, per function: calls, errors, p50/p99 and the last call',
  querystring: {
    type: 'object',
    required: ['path'],
    properties: {
      path: text(`the source file: workspace-relative or absolute; matched by suffix at a path-segment boundary either way (at most ${MAX_PATH_LENGTH} characters)`),
      service: text('only spans of this service'),
      start: text('window start: microseconds since the epoch or ISO-8601'),
      end: text('window end (default now): microseconds since the epoch or ISO-8601'),
      lookback: text('window length before end when start is absent, e.g. 15m (default 1h; at most 7 days)'),
      limit: text(`functions returned, most calls first (default ${DEFAULT_CODE_METHODS}, at most ${MAX_CODE_METHODS})`),
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'the path as matched (normalised)' },
        startTimeUnixNano: nano,
        endTimeUnixNano: nano,
        methodCount: { type: 'integer', description: 'functions matched (may exceed the rows returned)' },
        methods: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              service: { type: 'string' },
              function: { type: 'string', description: 'code.function.name' },
              namespace: { type: 'string', description: 'code.namespace' },
              line: { type: 'integer', description: 'code.line.number (1-based; 0 when not reported)' },
              filePath: { type: 'string', description: 'code.file.path as the agent reported it' },
              calls: { type: 'integer' },
              errors: { type: 'integer' },
              p50Nano: nano,
              p99Nano: nano,
              lastSeenUnixNano: nano,
              slowestTraceId: { type: 'string', description: 'the trace of the slowest call' },
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

export function registerCodeRoutes(app: FastifyInstance, deps: CodeRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>(CODE_METHODS_PATH, { schema: codeMethodsSchema }, async (req) => {
    const q = req.query;
    const rawPath = single('path', q.path);
    if (rawPath === undefined) throw new QueryParamError('path: required (the source file, e.g. src/orders/service.ts)');
    let path: string;
    try {
      path = normaliseCodePath(rawPath);
    } catch (err) {
      if (err instanceof CodePathError) throw new QueryParamError(err.message);
      throw err;
    }
    const service = parseText('service', q.service);
    const limit = parseLimit(q.limit, DEFAULT_CODE_METHODS, MAX_CODE_METHODS);
    const { startNs, endNs } = parseWindow(q, DEFAULT_LOOKBACK_NS);
    if (endNs - startNs > MAX_CODE_WINDOW_NS) {
      const culprit = single('start', q.start) === undefined && single('lookback', q.lookback) !== undefined ? 'lookback' : 'start';
      throw new QueryParamError(`${culprit}: the window is at most 7 days (168h) wide`);
    }
    const scope = await deps.readScopes.forRules(req.principal.rules);
    const answer = await codeMethods(deps.reader, { table: scope.traceTables.traces, path, startNs, endNs, service, limit });
    return toJson(path, answer, startNs, endNs);
  });
}

function toJson(path: string, answer: CodeMethods, startNs: bigint, endNs: bigint) {
  return {
    path,
    startTimeUnixNano: startNs.toString(),
    endTimeUnixNano: endNs.toString(),
    methodCount: answer.methodCount,
    methods: answer.methods.map((m) => ({
      service: m.service,
      function: m.function,
      namespace: m.namespace,
      line: m.line,
      filePath: m.filePath,
      calls: m.calls,
      errors: m.errors,
      p50Nano: m.p50Ns.toString(),
      p99Nano: m.p99Ns.toString(),
      lastSeenUnixNano: m.lastSeenNs.toString(),
      slowestTraceId: m.slowestTraceId,
    })),
  };
}
