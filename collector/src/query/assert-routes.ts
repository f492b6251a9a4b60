import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import '../auth/request-principal.js';
import { readAnalysisTrace } from './analysis-routes.js';
import { AssertQueryError, evaluateAssertions } from './assert/evaluate.js';
import { ASSERT_LIMITS, AssertSpecError, checkAssertRequest, COUNT_OPERATORS, DURATION_STATS, INSIGHT_RULES, type AssertAnswer } from './assert/spec.js';
import { parseWindow, QueryParamError } from './params.js';
import type { ReadScopes } from './read-scope.js';
import { documentOnly, errorSchema, nanoString, readErrors } from './route-schemas.js';
import { readsOf } from './stitch-routes.js';
import type { TraceStore } from './trace-store.js';

export interface AssertRouteDeps {
  reader: ClickHouseClient;
  database: string;
  store: TraceStore;
  readScopes: ReadScopes;
}

const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;

const query = (description: string) => ({ type: 'string', maxLength: ASSERT_LIMITS.queryLength, description }) as const;

const expectationSchema = {
  oneOf: [
    { type: 'object', required: ['kind'], additionalProperties: false, properties: { kind: { const: 'none' } }, description: 'no trace matches' },
    {
      type: 'object',
      required: ['kind', 'op', 'value'],
      additionalProperties: false,
      properties: { kind: { const: 'count' }, op: { type: 'string', enum: COUNT_OPERATORS }, value: { type: 'integer', minimum: 0 } },
      description: 'the number of matching traces compares with value',
    },
    {
      type: 'object',
      required: ['kind', 'query'],
      additionalProperties: false,
      properties: { kind: { const: 'every' }, query: query('what every matching trace must also match (search grammar)') },
      description: 'every matching trace, at least one, also matches query',
    },
    {
      type: 'object',
      required: ['kind', 'stat', 'op', 'boundNano'],
      additionalProperties: false,
      properties: { kind: { const: 'duration' }, stat: { type: 'string', enum: DURATION_STATS }, op: { type: 'string', enum: ['<', '<='] }, boundNano: nanoString },
      description: "the stat (exact quantile or max) of the durations of the selector's spans (its one span set) is below the bound",
    },
    {
      type: 'object',
      required: ['kind', 'rule'],
      additionalProperties: false,
      properties: { kind: { const: 'noInsight' }, rule: { type: 'string', enum: INSIGHT_RULES } },
      description: `no matching trace has an insight of this rule (the newest ${ASSERT_LIMITS.insightTraces} matching traces are analysed)`,
    },
  ],
} as const;

const evidenceSchema = {
  type: 'object',
  required: ['traceId'],
  properties: {
    traceId: { type: 'string' },
    root: { type: 'string', description: 'service: name of the root span' },
    durationNano: nanoString,
    errorCount: { type: 'integer' },
    detail: { type: 'string', description: 'the span or insight that broke the expectation' },
  },
} as const;

/** For the OpenAPI document (documentOnly): the body is checked by checkAssertRequest, whose messages name the field. */
export const assertSchema = {
  summary: 'Evaluate trace-based assertions (search-grammar selectors) over a window and an optional scope, for CI',
  description: `Counts, quantiles and evidence are computed in ClickHouse under the caller's read rules. \`flowtrace assert\` calls this and polls it while spans arrive. All of one request's queries share a budget of ${ASSERT_LIMITS.budgetSeconds} s: a request that outruns it is a 422.`,
  body: {
    type: 'object',
    required: ['assertions'],
    additionalProperties: false,
    properties: {
      assertions: {
        type: 'array',
        minItems: 1,
        maxItems: ASSERT_LIMITS.assertions,
        items: {
          type: 'object',
          required: ['name', 'select', 'expect'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: ASSERT_LIMITS.nameLength }, select: query('the traces (for durations: the spans of its one span set) the assertion is about'), expect: expectationSchema },
        },
      },
      scope: query('a query every trace must match as well, e.g. resource.ci.run.id = "1234"'),
      start: { type: 'string', description: 'window start: microseconds since the epoch or ISO-8601' },
      end: { type: 'string', description: 'window end (default now)' },
      lookback: { type: 'string', description: 'window length before end when start is absent (default 1h)' },
      countOnly: { type: 'boolean', description: 'only check the queries and count the scope (results empty): what a client polls while spans arrive' },
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['results', 'scope', 'window'],
      properties: {
        results: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'select', 'expectation', 'passed', 'observed', 'matchedTraces', 'evidence'],
            properties: {
              name: { type: 'string' },
              select: { type: 'string' },
              expectation: { type: 'string', description: 'the expectation in words' },
              passed: { type: 'boolean' },
              observed: { type: 'string', description: 'what was measured, in words' },
              matchedTraces: { type: 'integer', description: 'traces matching the selector and the scope' },
              evidence: { type: 'array', items: evidenceSchema, description: `the traces behind a failure, at most ${ASSERT_LIMITS.evidence}` },
            },
          },
        },
        scope: {
          type: 'object',
          required: ['traces', 'spans'],
          properties: { traces: { type: 'integer' }, spans: { type: 'integer', description: 'spans of those traces in the window: a waiting client watches it settle' } },
        },
        window: { type: 'object', required: ['startUnixNano', 'endUnixNano'], properties: { startUnixNano: nanoString, endUnixNano: nanoString } },
      },
    },
    ...readErrors,
    422: { ...errorSchema, description: `the request's queries need more than ${ASSERT_LIMITS.budgetSeconds} s in all` },
    400: {
      ...errorSchema,
      properties: {
        ...errorSchema.properties,
        field: { type: 'string', description: 'the query with a syntax error: scope, assertions[i].select or assertions[i].expect.query' },
        column: { type: 'integer', description: 'where in that query, counted from 1' },
      },
    },
  },
} as const;

/**
 * `POST /api/assert`: trace-based assertions (query/assert/). Read scope; every query reads the
 * principal's filtered view, so a token limited to some services asserts over their spans only.
 */
export function registerAssertRoutes(app: FastifyInstance, deps: AssertRouteDeps): void {
  app.post<{ Body: unknown }>('/api/assert', { schema: assertSchema, validatorCompiler: documentOnly }, async (req, reply): Promise<AssertAnswer> => {
    let request;
    try {
      request = checkAssertRequest(req.body);
    } catch (err) {
      if (err instanceof AssertSpecError) throw new QueryParamError(err.message);
      throw err;
    }
    const { startNs, endNs } = parseWindow({ start: request.start, end: request.end, lookback: request.lookback }, DEFAULT_LOOKBACK_NS);
    const table = (await deps.readScopes.forRules(req.principal.rules)).traceTables.traces;
    const reads = await readsOf(deps, req);
    try {
      return await evaluateAssertions(request, {
        client: deps.reader,
        table,
        startNs,
        endNs,
        readTrace: (traceId) => readAnalysisTrace(deps, reads, traceId, true),
      });
    } catch (err) {
      if (err instanceof AssertQueryError) return reply.code(400).send({ error: err.message, field: err.field, column: err.column });
      throw err;
    }
  });
}
