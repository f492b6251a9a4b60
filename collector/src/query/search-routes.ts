import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import '../auth/request-principal.js';
import { parseLimit, parseText, parseWindow, QueryParamError, single } from './params.js';
import type { ReadScopes } from './read-scope.js';
import { errorSchema, queryText as text, readErrors, traceSummarySchema } from './route-schemas.js';
import {
  CATALOG_TOP_VALUES,
  catalogFilter,
  catalogKeys,
  catalogValues,
  MAX_CATALOG_DAYS,
  MAX_CATALOG_KEYS,
  type CatalogKey,
  type CatalogScope,
  type CatalogValue,
} from './search/catalog.js';
import { unknownKeyHints } from './search/key-hints.js';
import { parseSearch, SEARCH_LIMITS, SearchSyntaxError } from './search/parse.js';
import { runSearch, SearchCursorError, type SearchAnswer } from './search/search.js';

export interface SearchRouteDeps {
  reader: ClickHouseClient;
  /** Where the collector's tables are (the attribute catalog is read there, filtered by the read rules). */
  database: string;
  /** Read rules: the search reads the principal's filtered view of the span table. */
  readScopes: ReadScopes;
}

const DEFAULT_LOOKBACK_NS = 24n * 3_600_000_000_000n;
const DEFAULT_KEYS = 100;
const DEFAULT_CATALOG_DAYS = 7;
const MAX_KEY_LENGTH = 1024;

// JSON schemas: they validate and document the input, serialise the output, and feed the OpenAPI document.
const scopeSchema = { type: 'string', enum: ['span', 'resource'] } as const;
const catalogErrors = {
  ...readErrors,
  403: { ...errorSchema, description: 'the token lacks the read scope, or has read rules on environments (the catalog has no environment column)' },
  404: { ...errorSchema, description: 'the catalog is off (storage.attribute_catalog: false)' },
} as const;

export const searchSchema = {
  summary: 'Traces matching a query in the search language, newest first',
  querystring: {
    type: 'object',
    properties: {
      q: text(`the query (collector/src/query/search/README.md), at most ${SEARCH_LIMITS.maxQueryLength} characters`),
      start: text('window start: microseconds since the epoch or ISO-8601'),
      end: text('window end (default now): microseconds since the epoch or ISO-8601'),
      lookback: text('window length before end when start is absent, e.g. 15m (default 24h)'),
      limit: text('traces per page, 1 to 1000 (default 20)'),
      cursor: text('nextCursor of the previous page'),
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['traces'],
      properties: {
        traces: { type: 'array', items: traceSummarySchema },
        nextCursor: { type: 'string', description: 'present when the page is full: pass it as cursor for older traces' },
        hints: {
          type: 'array',
          items: { type: 'string' },
          description: 'when nothing matched: attribute keys of the query no span carried in the last 7 days, with close keys that were (the attribute-key catalog)',
        },
      },
    },
    ...readErrors,
    400: { ...errorSchema, properties: { ...errorSchema.properties, column: { type: 'integer', description: 'where a syntax error is, counted from 1' } } },
  },
} as const;

const catalogWindow = {
  service: text('only this service (default: every service the caller may read)'),
  days: text(`days back from today, 1 to ${MAX_CATALOG_DAYS} (default ${DEFAULT_CATALOG_DAYS})`),
} as const;

export const keysSchema = {
  summary: 'Attribute keys seen per service (the attribute-key catalog), most used first: for autocomplete',
  querystring: {
    type: 'object',
    properties: {
      ...catalogWindow,
      prefix: text('keys starting with this'),
      scope: { ...scopeSchema, description: 'span or resource attributes (default both)' },
      limit: text(`keys returned, 1 to ${MAX_CATALOG_KEYS} (default ${DEFAULT_KEYS})`),
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['keys'],
      properties: {
        keys: {
          type: 'array',
          items: {
            type: 'object',
            required: ['scope', 'key', 'spans'],
            properties: {
              scope: scopeSchema,
              key: { type: 'string', description: 'as written in a query after span. or resource.' },
              spans: { type: 'integer', description: 'spans that carried the key' },
            },
          },
        },
      },
    },
    ...catalogErrors,
  },
} as const;

export const valuesSchema = {
  summary: "An attribute key's most frequent values with their counts (the attribute-key catalog)",
  querystring: {
    type: 'object',
    required: ['key'],
    properties: {
      key: text('the attribute key, e.g. http.route'),
      scope: { ...scopeSchema, description: 'span (default) or resource attribute' },
      ...catalogWindow,
      prefix: text('values starting with this'),
      limit: text(`values returned, 1 to ${CATALOG_TOP_VALUES} (default ${CATALOG_TOP_VALUES}: the catalog keeps that many per key)`),
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['scope', 'key', 'values'],
      properties: {
        scope: scopeSchema,
        key: { type: 'string' },
        values: {
          type: 'array',
          items: {
            type: 'object',
            required: ['value', 'count'],
            properties: {
              value: { type: 'string', description: `the value as stored (arrays as JSON), cut to 128 characters` },
              count: { type: 'integer', description: 'spans with the value: approximate, never below the truth' },
            },
          },
        },
      },
    },
    ...catalogErrors,
  },
} as const;

/**
 * `GET /api/search?q=&start=&end=&lookback=&limit=&cursor=`: traces matching a query in the
 * search grammar (search/README.md), newest first. A query the grammar refuses is a 400 whose
 * `error` names the column (`q: at column 17: expected a value after '='`) and whose `column`
 * holds it.
 *
 * `GET /api/search/keys?service=&prefix=&scope=&days=&limit=` and
 * `GET /api/search/values?key=&scope=&service=&prefix=&days=&limit=`: the attribute-key catalog
 * (search/catalog.ts) for autocomplete, under the caller's read rules.
 */
export function registerSearchRoutes(app: FastifyInstance, deps: SearchRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/search', { schema: searchSchema }, async (req, reply): Promise<SearchAnswer> => {
    const q = req.query;
    const text = parseText('q', q.q, SEARCH_LIMITS.maxQueryLength) ?? '';
    const { startNs, endNs } = parseWindow(q, DEFAULT_LOOKBACK_NS);
    const limit = parseLimit(q.limit, 20, 1000);
    const cursor = single('cursor', q.cursor);
    // The principal's scope: its filtered view when read rules restrict it, the table itself otherwise.
    const table = (await deps.readScopes.forRules(req.principal.rules)).traceTables.traces;
    try {
      const answer = await runSearch(deps.reader, { q: text, table, startNs, endNs, limit, cursor });
      if (answer.traces.length > 0 || cursor !== undefined) return answer;
      // Nothing matched: a mistyped attribute key is the usual reason; say so, from the catalog.
      const hints = await unknownKeyHints(deps.reader, deps.database, req.principal.rules, parseSearch(text));
      return hints.length > 0 ? { ...answer, hints } : answer;
    } catch (err) {
      if (err instanceof SearchSyntaxError) return reply.code(400).send({ error: `q: ${err.message}`, column: err.column });
      if (err instanceof SearchCursorError) throw new QueryParamError(err.message);
      throw err;
    }
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/search/keys', { schema: keysSchema }, async (req): Promise<{ keys: CatalogKey[] }> => {
    const q = req.query;
    const scope = parseScope(q.scope);
    const keys = await catalogKeys(deps.reader, deps.database, {
      filter: catalogFilter(req.principal.rules),
      service: parseText('service', q.service),
      days: parseDays(q.days),
      scope,
      prefix: parseText('prefix', q.prefix, MAX_KEY_LENGTH),
      limit: parseLimit(q.limit, DEFAULT_KEYS, MAX_CATALOG_KEYS),
    });
    return { keys };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/search/values', { schema: valuesSchema }, async (req): Promise<{ scope: CatalogScope; key: string; values: CatalogValue[] }> => {
    const q = req.query;
    const key = parseText('key', q.key, MAX_KEY_LENGTH);
    if (key === undefined) throw new QueryParamError('key: required (an attribute key, e.g. http.route)');
    const scope = parseScope(q.scope) ?? 'span';
    const values = await catalogValues(deps.reader, deps.database, {
      filter: catalogFilter(req.principal.rules),
      service: parseText('service', q.service),
      days: parseDays(q.days),
      scope,
      key,
      prefix: parseText('prefix', q.prefix, MAX_KEY_LENGTH),
      limit: parseLimit(q.limit, CATALOG_TOP_VALUES, CATALOG_TOP_VALUES),
    });
    return { scope, key, values };
  });
}

function parseScope(value: unknown): CatalogScope | undefined {
  const scope = single('scope', value);
  if (scope === undefined || scope === 'span' || scope === 'resource') return scope;
  throw new QueryParamError(`scope: expected span or resource, got ${JSON.stringify(scope.slice(0, 64))}`);
}

function parseDays(value: unknown): number {
  const text = single('days', value);
  if (text === undefined) return DEFAULT_CATALOG_DAYS;
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_CATALOG_DAYS)) throw new QueryParamError(`days: expected a whole number from 1 to ${MAX_CATALOG_DAYS}, got ${JSON.stringify(text.slice(0, 64))}`);
  return n;
}
