import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { DROPS_TABLE } from '../pipeline/drop-ledger/table.js';
import { QueryParamError, parseDuration, parseLimit, parseText, parseTime, single } from './params.js';
import type { ReadScopes } from './read-scope.js';
import { nanoString, queryText, readErrors } from './route-schemas.js';
import { readsOf } from './stitch-routes.js';
import type { TraceStore } from './trace-store.js';

export interface DropRouteDeps {
  reader: ClickHouseClient;
  store: TraceStore;
  /** Read rules: a principal restricted to some services sees only their rows. */
  readScopes: ReadScopes;
}

/** One line of the answer: what was not stored (or changed) at one stage, for one reason and service. */
export interface DropTotal {
  stage: string;
  reason: string;
  /** '' when the stage could not know it (a request refused whole, an exporter's batch). */
  service: string;
  droppedSpans: number;
  alteredValues: number;
}

export interface DropsAnswer {
  /** The start of the minute holding `since`: rows are per minute. */
  sinceUnixNano: string;
  totals: { droppedSpans: number; alteredValues: number };
  drops: DropTotal[];
}

const DEFAULT_SINCE_NS = 3_600_000_000_000n;
const NS_PER_SECOND = 1_000_000_000n;
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

const count = { type: 'integer' } as const;
const dropsSchema = {
  summary: 'Spans not stored (or values altered), by stage, reason and service, since a time',
  querystring: {
    type: 'object',
    properties: {
      since: queryText('a duration back from now (1h, 30m) or a time (ISO-8601, or microseconds since the epoch); default 1h'),
      service: queryText('only this service (\'\' is the unknown service: a request refused whole, an exporter batch)'),
      limit: queryText('rows returned, most dropped first (default 1000, at most 10000)'),
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        sinceUnixNano: { ...nanoString, description: 'the start of the minute holding since (rows are per minute)' },
        totals: { type: 'object', properties: { droppedSpans: count, alteredValues: count } },
        drops: {
          type: 'array',
          items: { type: 'object', properties: { stage: { type: 'string' }, reason: { type: 'string' }, service: { type: 'string' }, droppedSpans: count, alteredValues: count } },
        },
      },
    },
    ...readErrors,
  },
} as const;

/**
 * `GET /api/drops?since=1h&service=x`: the drop ledger's totals by stage, reason and service
 * since a time. Counts reach the table within a few seconds (written in the background).
 */
export function registerDropRoutes(app: FastifyInstance, deps: DropRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/drops', { schema: dropsSchema }, async (req): Promise<DropsAnswer> => {
    const sinceNs = parseSince(req.query.since);
    const service = parseText('service', req.query.service);
    const limit = parseLimit(req.query.limit, 1000, 10_000);
    const table = (await readsOf(deps, req)).table(DROPS_TABLE);
    const fromSeconds = Number((sinceNs / NS_PER_SECOND / 60n) * 60n);
    const where = ["Minute >= toDateTime({from:UInt32}, 'UTC')"];
    if (service !== undefined) where.push('Service = {service:String}');
    const rows = await tolerateMissingTable(
      deps.reader
        .query({
          query: `SELECT Stage AS stage, Reason AS reason, Service AS service,
                    sum(DroppedSpans) AS droppedSpans, sum(AlteredValues) AS alteredValues
                  FROM ${table}
                  WHERE ${where.join(' AND ')}
                  GROUP BY Stage, Reason, Service
                  ORDER BY droppedSpans DESC, alteredValues DESC, stage, reason, service
                  LIMIT {limit:UInt32}`,
          query_params: { from: fromSeconds, service, limit },
          format: 'JSONEachRow',
          clickhouse_settings: READ_SETTINGS,
        })
        .then((r) => r.json<Record<keyof DropTotal, string>>()),
    );
    const drops = rows.map((r) => ({ stage: r.stage, reason: r.reason, service: r.service, droppedSpans: Number(r.droppedSpans), alteredValues: Number(r.alteredValues) }));
    return {
      sinceUnixNano: (BigInt(fromSeconds) * NS_PER_SECOND).toString(),
      totals: {
        droppedSpans: drops.reduce((sum, d) => sum + d.droppedSpans, 0),
        alteredValues: drops.reduce((sum, d) => sum + d.alteredValues, 0),
      },
      drops,
    };
  });
}

/**
 * `since`: a duration back from now (`1h`, `30m`, `1h30m`), or a time as the other routes take
 * it (microseconds since the epoch, or ISO-8601). Default: the last hour.
 */
export function parseSince(value: unknown, nowNs = BigInt(Date.now()) * 1_000_000n): bigint {
  const text = single('since', value);
  if (text === undefined) return nowNs - DEFAULT_SINCE_NS;
  if (/^\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)/.test(text) && !/^\d+$/.test(text)) {
    const back = parseDuration('since', text);
    return nowNs > back ? nowNs - back : 0n;
  }
  try {
    return parseTime('since', text);
  } catch {
    throw new QueryParamError(`since: expected a duration back from now (1h, 30m) or a time (ISO-8601, or microseconds since the epoch), got ${JSON.stringify(text.slice(0, 64))}`);
  }
}

/** Before the first start migrated it, the table does not exist: nothing was dropped yet. */
async function tolerateMissingTable<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return [];
    throw err;
  }
}
