import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../auth/request-principal.js';
import { parseSince } from '../query/drops-routes.js';
import { QueryParamError, parseLimit, parseText, single } from '../query/params.js';
import { queryAlerts, queryFiring } from './store.js';

/**
 * - `GET /api/alerts?state=firing|resolved&since=1h&rule=NAME&service=NAME&limit=N`: the alert
 *   history (`flowtrace_alerts`), one row per transition, newest first. `since` as `/api/drops`
 *   takes it (default the last hour).
 * - `GET /api/alerts/firing?rule=NAME&service=NAME&limit=N`: the series firing now (their last
 *   transition is `firing`, however long ago), the most recently fired first.
 * Under the `read` scope; a principal limited to some services sees only alerts about those
 * services (drop alerts without a service included out); one limited to environments gets 403,
 * as alerts come from RED and the drop ledger, which are not kept per environment.
 */
export interface AlertRouteDeps {
  reader: ClickHouseClient;
  database: string;
}

const error = { type: 'object', properties: { error: { type: 'string' } } } as const;
const NS_PER_MS = 1_000_000n;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const alertRecord = {
  type: 'object',
  required: ['at', 'rule', 'kind', 'state', 'series', 'service', 'operation', 'value', 'threshold', 'firingSince', 'summary', 'details'],
  properties: {
    at: { type: 'string', description: 'when this transition happened (ISO-8601, UTC)' },
    rule: { type: 'string' },
    kind: { type: 'string', enum: ['red', 'anomaly', 'drops'] },
    state: { type: 'string', enum: ['firing', 'resolved'] },
    series: { type: 'string', description: 'what tells series of one rule apart, as a JSON array (service, operation, kind…; stage, reason, service for drops)' },
    service: { type: 'string', description: "'' for drops of spans whose service was not known" },
    operation: { type: 'string', description: "'' for drop alerts" },
    value: { type: 'number', description: 'the value now (firing) or the last value it fired with (resolved)' },
    threshold: { type: 'number' },
    firingSince: { type: 'string', description: 'when the series started firing (ISO-8601, UTC)' },
    summary: { type: 'string' },
    details: { type: 'object', additionalProperties: true, description: 'per kind: requests and errors, baseline and score with example trace IDs, stage and reason' },
  },
} as const;

const filters = {
  rule: { type: 'string', description: 'only this rule' },
  service: { type: 'string', description: 'only alerts about this service' },
  limit: { type: 'string', description: `rows at most (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})` },
} as const;

export const alertsSchema = {
  summary: 'Alert history: each firing and resolved transition of the configured rules, newest first',
  querystring: {
    type: 'object',
    properties: {
      state: { type: 'string', enum: ['firing', 'resolved'], description: 'only transitions to this state' },
      since: { type: 'string', description: 'a duration back from now (1h) or a time; default 1h' },
      ...filters,
    },
  },
  response: {
    200: { type: 'object', required: ['alerts'], properties: { alerts: { type: 'array', items: alertRecord } } },
    400: error,
    401: error,
    403: error,
  },
} as const;

export const firingSchema = {
  summary: 'Alerts firing now: series whose last transition is firing, the most recently fired first',
  querystring: { type: 'object', properties: filters },
  response: {
    200: { type: 'object', required: ['firing'], properties: { firing: { type: 'array', items: alertRecord } } },
    400: error,
    401: error,
    403: error,
  },
} as const;

type Query = { Querystring: Record<string, unknown> };

/** The principal's services (undefined: all); 403 for environment rules, which alerts cannot honour. */
function servicesOf(req: FastifyRequest): string[] | undefined {
  const rules = req.principal.rules;
  if (rules.environments?.length) {
    throw Object.assign(new Error('alerts are not kept per environment, so a principal limited to some environments cannot read them'), { statusCode: 403 });
  }
  return rules.services?.length ? rules.services : undefined;
}

export function registerAlertRoutes(app: FastifyInstance, deps: AlertRouteDeps): void {
  app.get<Query>('/api/alerts', { schema: alertsSchema }, async (req) => {
    const q = req.query;
    const state = single('state', q.state);
    if (state !== undefined && state !== 'firing' && state !== 'resolved') throw new QueryParamError(`state: expected "firing" or "resolved", got ${JSON.stringify(state.slice(0, 64))}`);
    const services = servicesOf(req);
    const alerts = await queryAlerts(deps.reader, deps.database, {
      state,
      rule: parseText('rule', q.rule, 64),
      service: parseText('service', q.service, 256),
      sinceMs: Number(parseSince(q.since) / NS_PER_MS),
      services,
      limit: parseLimit(q.limit, DEFAULT_LIMIT, MAX_LIMIT),
    });
    return { alerts };
  });

  app.get<Query>('/api/alerts/firing', { schema: firingSchema }, async (req) => {
    const q = req.query;
    const services = servicesOf(req);
    const firing = await queryFiring(deps.reader, deps.database, {
      rule: parseText('rule', q.rule, 64),
      service: parseText('service', q.service, 256),
      services,
      limit: parseLimit(q.limit, DEFAULT_LIMIT, MAX_LIMIT),
    });
    return { firing };
  });
}
