import type { AlertRecord } from '../../alerts/store.js';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { renderTable, type Cell } from './metric-table.js';
import { paintFor, type Paint } from './terminal.js';

const USAGE = `Usage: flowtrace alerts [options]

Alerts of the collector's rules (RED thresholds, anomalies, the drop ledger; config 'alerts:'),
from its /api/alerts/firing and /api/alerts.

Options:
${CONNECTION_HELP}
  --state STATE        firing: what fires now (however long ago it started);
                       resolved: transitions to resolved since --since;
                       all (default): what fires now, then every transition since --since
  --since WHEN         history window: a duration (30m, 24h, 7d) or an ISO-8601 time (default 24h)
  --rule NAME          only this rule
  --service NAME       only alerts about this service
  --limit N            rows per list at most (default 100, at most 1000)
  --json               print the collector's answers as JSON
  -h, --help           show this help
`;

export type AlertsState = 'firing' | 'resolved' | 'all';

export interface AlertsView {
  /** Absent when not asked for (state resolved). */
  firing?: AlertRecord[];
  /** The history; absent when not asked for (state firing). */
  alerts?: AlertRecord[];
}

export const alertsCommand: Command = {
  path: ['alerts'],
  summary: 'alerts firing now and the recent alert history (RED, anomalies, drops)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      state: { type: 'string', default: 'all' },
      since: { type: 'string', default: '24h' },
      rule: { type: 'string' },
      service: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const state = values.state;
    if (state !== 'firing' && state !== 'resolved' && state !== 'all') throw new UsageError(`--state: expected firing, resolved or all, got '${state}'`);
    const since = sinceParameter(values.since);
    if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit)) throw new UsageError(`--limit: expected a whole number from 1 to 1000, got '${values.limit}'`);
    const token = apiCredential(values['token-file'], io.env);
    const base = apiUrl(values.api, io.env);
    const common = new URLSearchParams();
    if (values.rule !== undefined) common.set('rule', values.rule);
    if (values.service !== undefined) common.set('service', values.service);
    if (values.limit !== undefined) common.set('limit', values.limit);
    const view: AlertsView = {};
    try {
      if (state !== 'resolved') view.firing = (await callApi<{ firing: AlertRecord[] }>(base, `/api/alerts/firing?${common}`, { token })).firing;
      if (state !== 'firing') {
        const history = new URLSearchParams(common);
        history.set('since', since);
        if (state === 'resolved') history.set('state', 'resolved');
        view.alerts = (await callApi<{ alerts: AlertRecord[] }>(base, `/api/alerts?${history}`, { token })).alerts;
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace alerts: ${err.message}\n`);
      return 1;
    }
    if (values.json) {
      io.stdout.write(JSON.stringify(view, null, 2) + '\n');
      return 0;
    }
    io.stdout.write(formatAlerts(view, since, paintFor(io)));
    return 0;
  },
};

/** `--since`: a duration (`d` as whole days) or a time, checked before anything is sent. */
export function sinceParameter(text: string): string {
  const days = /^(\d{1,5})d$/.exec(text);
  if (days) return `${Number(days[1]) * 24}h`;
  if (/^(?:\d{1,20}(?:\.\d{1,9})?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) return text;
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return text;
  throw new UsageError(`--since: expected a duration such as 30m, 24h or 7d, or an ISO-8601 time, got '${text}'`);
}

const FIRING_COLUMNS = [{ title: 'firing since' }, { title: 'rule' }, { title: 'kind' }, { title: 'service' }, { title: 'operation' }, { title: 'value', right: true }, { title: 'threshold', right: true }, { title: 'summary' }];
const HISTORY_COLUMNS = [{ title: 'at' }, { title: 'state' }, { title: 'rule' }, { title: 'kind' }, { title: 'service' }, { title: 'operation' }, { title: 'value', right: true }, { title: 'summary' }];

/** Drop alerts have no operation; their series names the stage and reason instead. */
function operationOf(a: AlertRecord): string {
  if (a.operation !== '') return a.operation;
  const { stage, reason } = a.details;
  return typeof stage === 'string' && typeof reason === 'string' ? `(${stage} ${reason})` : '';
}

function number(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** What fires now (when asked), then the history (when asked), each with a closing line. */
export function formatAlerts(view: AlertsView, since: string, paint: Paint): string {
  const out: string[] = [];
  if (view.firing) {
    if (view.firing.length === 0) out.push('Nothing is firing.\n');
    else {
      const rows = view.firing.map((a): Cell[] => [a.firingSince, a.rule, a.kind, a.service || '(unknown)', operationOf(a), { text: number(a.value), paint: paint.red }, number(a.threshold), a.summary]);
      out.push(renderTable(FIRING_COLUMNS, rows, paint) + `${view.firing.length} firing now.\n`);
    }
  }
  if (view.alerts) {
    if (out.length > 0) out.push('\n');
    if (view.alerts.length === 0) out.push(`No alert transitions since ${since}.\n`);
    else {
      const rows = view.alerts.map((a): Cell[] => [
        a.at,
        { text: a.state, paint: a.state === 'firing' ? paint.red : paint.green },
        a.rule,
        a.kind,
        a.service || '(unknown)',
        operationOf(a),
        number(a.value),
        a.summary,
      ]);
      out.push(renderTable(HISTORY_COLUMNS, rows, paint) + `${view.alerts.length} transitions since ${since}, newest first.\n`);
    }
  }
  return out.join('');
}
