import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatDuration } from '../format.js';
import { renderTable, type Cell } from './metric-table.js';
import { formatErrorPercent } from './red.js';
import type { Paint } from './terminal.js';
import { paintFor } from './terminal.js';

const USAGE = `Usage: flowtrace anomalies [options]

Operations whose latency p99 or error rate rose far above their own recent baseline (the
collector's /api/anomalies: robust z-score, (current − median of the 12 windows before) /
(1.4826 × MAD) ≥ 5, from RED counted before sampling), each with up to 3 example traces.

Options:
${CONNECTION_HELP}
  --service NAME       only this service
  --operation NAME     only this operation (span name)
  --window LEN         window length, whole minutes (default 5m, at most 1h)
  --since LEN          how far back windows are judged (default 1h, at most 24h); whole minutes
  --json               print the collector's answer as JSON
  -h, --help           show this help
`;

/** One anomaly of GET /api/anomalies (query/anomalies-routes.ts). */
export interface AnomalyItem {
  service: string;
  operation: string;
  spanKind: string;
  metric: 'latency_p99' | 'error_rate';
  startTimeUnixNano: string;
  seconds: number;
  requests: number;
  errors: number;
  current: number;
  baseline: { median: number; mad: number; windows: number };
  spread: number;
  score: number;
  exampleTraceIds: string[];
}

export interface AnomaliesAnswer {
  windowSeconds: number;
  judgedFromUnixNano: string;
  endTimeUnixNano: string;
  method: string;
  anomalies: AnomalyItem[];
}

export const anomaliesCommand: Command = {
  path: ['anomalies'],
  summary: 'operations whose p99 or error rate rose far above their own baseline, with example traces',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      service: { type: 'string' },
      operation: { type: 'string' },
      window: { type: 'string', default: '5m' },
      since: { type: 'string', default: '1h' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const window = minutesParameter('--window', values.window);
    const since = minutesParameter('--since', values.since);
    const token = apiCredential(values['token-file'], io.env);
    const base = apiUrl(values.api, io.env);
    const query = new URLSearchParams();
    if (values.service !== undefined) query.set('service', values.service);
    if (values.operation !== undefined) query.set('operation', values.operation);
    query.set('window', window);
    query.set('lookback', since);
    let answer: AnomaliesAnswer;
    try {
      answer = await callApi<AnomaliesAnswer>(base, `/api/anomalies?${query}`, { token });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace anomalies: ${err.message}\n`);
      return 1;
    }
    if (values.json) {
      io.stdout.write(JSON.stringify(answer, null, 2) + '\n');
      return 0;
    }
    io.stdout.write(formatAnomalies(answer, paintFor(io)));
    return 0;
  },
};

/**
 * `--window` / `--since`: a whole number of minutes or hours (the route counts in minutes),
 * checked before anything is sent; the route enforces the upper bounds.
 */
export function minutesParameter(flag: string, text: string): string {
  const m = /^(\d{1,5})(m|h)$/.exec(text);
  if (!m || Number(m[1]) === 0) throw new UsageError(`${flag}: expected a whole number of minutes or hours (5m, 1h), got '${text}'`);
  return text;
}

function isoOf(unixNano: string): string {
  return new Date(Number(BigInt(unixNano) / 1_000_000n)).toISOString();
}

const COLUMNS = [
  { title: 'window start' },
  { title: 'service' },
  { title: 'operation' },
  { title: 'kind' },
  { title: 'metric' },
  { title: 'now', right: true },
  { title: 'baseline', right: true },
  { title: 'score', right: true },
  { title: 'requests', right: true },
  { title: 'examples' },
];

/** A metric's value as read: latency as a duration, error rate as a percentage. */
function valueText(metric: AnomalyItem['metric'], value: number): string {
  return metric === 'latency_p99' ? formatDuration(BigInt(Math.round(value * 1_000_000))) : formatErrorPercent(value);
}

/** One row per anomaly, highest score first (the collector's order), then the window judged and the method. */
export function formatAnomalies(answer: AnomaliesAnswer, paint: Paint): string {
  const judged = `${isoOf(answer.judgedFromUnixNano)} to ${isoOf(answer.endTimeUnixNano)} in ${answer.windowSeconds / 60}m windows`;
  if (answer.anomalies.length === 0) return `No anomalies from ${judged}.\n`;
  const rows = answer.anomalies.map((a): Cell[] => [
    isoOf(a.startTimeUnixNano),
    a.service,
    a.operation,
    a.spanKind,
    a.metric === 'latency_p99' ? 'p99' : 'errors',
    { text: valueText(a.metric, a.current), paint: paint.red },
    valueText(a.metric, a.baseline.median),
    a.score.toFixed(1),
    String(a.requests),
    a.exampleTraceIds.join(' '),
  ]);
  return renderTable(COLUMNS, rows, paint) + `${answer.anomalies.length} anomalies from ${judged}; score: ${answer.method}.\n`;
}
