import { SPAN_KIND_NAMES } from '../../../../exporters/clickhouse/rowbinary.js';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatDuration } from '../format.js';
import { renderTable, sparkline, type Cell } from './metric-table.js';
import { windowParameter } from './search.js';
import { paintFor, terminalWidth, type Paint } from './terminal.js';

const USAGE = `Usage: flowtrace red [options]

Rate, errors and duration (RED) per service, operation and span kind, counted before sampling
(from the collector's /api/metrics/red, collector/src/metrics/red/README.md): requests, rate per
second, error %, and p50/p90/p99 (within about 9 %).

Options:
${CONNECTION_HELP}
  --service NAME       only this service
  --operation NAME     only this operation (span name; __other__ holds those beyond the cap)
  --kind KIND          only this span kind: server, client, internal, producer, consumer or
                       unspecified (any case)
  --since WHEN         how far back: a duration (30m, 1h, 7d) or an ISO-8601 time (default 1h;
                       at most 31 days); whole minutes
  --step STEP          also split the window into steps (1m, 5m, 1h, 1d: whole minutes): a
                       sparkline of the rate per step on a terminal, else one row per step
  --json               print the answer(s) as JSON: {summary} or {summary, steps}
  -h, --help           show this help
`;

/** One point of GET /api/metrics/red (red-routes.ts). */
export interface RedPoint {
  service: string;
  operation: string;
  spanKind: string;
  startTimeUnixNano: string;
  seconds: number;
  requests: number;
  errors: number;
  rate: number;
  errorRatio: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface RedAnswer {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  stepSeconds: number;
  points: RedPoint[];
}

/** Series the summary asks for at most (the route's default). */
const SUMMARY_LIMIT = 1_000;
/** Points the per-step query asks for at most (the route's maximum). */
const STEPS_LIMIT = 10_000;
/** Widest sparkline: more steps than this are merged, a few to a cell. */
const MAX_SPARK_CELLS = 60;

export const redCommand: Command = {
  path: ['red'],
  summary: 'rate, error % and p50/p90/p99 per service and operation (counted before sampling)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      service: { type: 'string' },
      operation: { type: 'string' },
      kind: { type: 'string' },
      since: { type: 'string', default: '1h' },
      step: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const window = windowParameter(values.since);
    const step = values.step === undefined ? undefined : stepParameter(values.step);
    const token = apiCredential(values['token-file'], io.env);
    const base = apiUrl(values.api, io.env);
    const filters = new URLSearchParams();
    if (values.service !== undefined) filters.set('service', values.service);
    if (values.operation !== undefined) filters.set('operation', values.operation);
    if (values.kind !== undefined) filters.set('spanKind', kindParameter(values.kind));

    let summary: RedAnswer;
    let steps: RedAnswer | undefined;
    try {
      summary = await callApi<RedAnswer>(base, `/api/metrics/red?${new URLSearchParams([...filters, ...Object.entries(window), ['limit', String(SUMMARY_LIMIT)]])}`, { token });
      if (step !== undefined) {
        // The same whole-minute window as the summary, so that the steps add up to it.
        const same = { start: isoOf(summary.startTimeUnixNano), end: isoOf(summary.endTimeUnixNano) };
        steps = await callApi<RedAnswer>(base, `/api/metrics/red?${new URLSearchParams([...filters, ...Object.entries(same), ['step', step], ['limit', String(STEPS_LIMIT)]])}`, { token });
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace red: ${err.message}\n`);
      return 1;
    }
    if (summary.points.length >= SUMMARY_LIMIT) io.stderr.write(`flowtrace red: only the ${SUMMARY_LIMIT} busiest series are shown; narrow with --service or --operation\n`);
    if (steps !== undefined && steps.points.length >= STEPS_LIMIT) io.stderr.write(`flowtrace red: the steps were cut at ${STEPS_LIMIT} points; use a larger --step or a shorter --since\n`);
    if (values.json) {
      io.stdout.write(JSON.stringify(steps === undefined ? { summary } : { summary, steps }, null, 2) + '\n');
      return 0;
    }
    const paint = paintFor(io);
    if (steps !== undefined && (io.stdout as { isTTY?: boolean }).isTTY === true) {
      io.stdout.write(formatRed(summary, paint, { steps, sparkCells: Math.min(MAX_SPARK_CELLS, Math.max(10, terminalWidth(io) - 90)) }));
    } else {
      io.stdout.write(formatRed(summary, paint));
      if (steps !== undefined && summary.points.length > 0) io.stdout.write('\n' + formatRedSteps(steps, paint));
    }
    return 0;
  },
};

/** `--kind` in any case, as the stored name (`Server`). */
export function kindParameter(text: string): string {
  const kind = SPAN_KIND_NAMES.find((k) => k.toLowerCase() === text.toLowerCase());
  if (kind === undefined) throw new UsageError(`--kind: expected one of ${SPAN_KIND_NAMES.map((k) => k.toLowerCase()).join(', ')}, got '${text}'`);
  return kind;
}

/** `--step`: whole minutes, hours or days (days as hours, which the route reads), checked before anything is sent. */
export function stepParameter(text: string): string {
  const m = /^(\d{1,5})(m|h|d)$/.exec(text);
  if (!m || Number(m[1]) === 0) throw new UsageError(`--step: expected a whole number of minutes, hours or days (1m, 5m, 1h, 1d), got '${text}'`);
  return m[2] === 'd' ? `${Number(m[1]) * 24}h` : text;
}

function isoOf(unixNano: string): string {
  return new Date(Number(BigInt(unixNano) / 1_000_000n)).toISOString();
}

/** Requests per second, with the precision that matters at its size. */
export function formatRate(rate: number): string {
  if (rate === 0) return '0';
  if (rate < 0.01) return '<0.01';
  if (rate < 100) return rate.toFixed(2);
  if (rate < 10_000) return rate.toFixed(1);
  return String(Math.round(rate));
}

/** errors / requests as a percentage; a few errors among many never shown as 0. */
export function formatErrorPercent(ratio: number): string {
  if (ratio === 0) return '0%';
  if (ratio < 0.001) return '<0.1%';
  return `${(ratio * 100).toFixed(1)}%`;
}

function formatMs(ms: number): string {
  return formatDuration(BigInt(Math.round(ms * 1_000_000)));
}

const key = (p: Pick<RedPoint, 'service' | 'operation' | 'spanKind'>) => JSON.stringify([p.service, p.operation, p.spanKind]);

const COLUMNS = [
  { title: 'service' },
  { title: 'operation' },
  { title: 'kind' },
  { title: 'requests', right: true },
  { title: 'rate/s', right: true },
  { title: 'errors', right: true },
  { title: 'p50', right: true },
  { title: 'p90', right: true },
  { title: 'p99', right: true },
];

function cells(p: RedPoint, paint: Paint): Cell[] {
  const errors = formatErrorPercent(p.errorRatio);
  return [
    p.service,
    p.operation,
    p.spanKind,
    String(p.requests),
    formatRate(p.rate),
    p.errors > 0 ? { text: errors, paint: paint.red } : errors,
    formatMs(p.p50Ms),
    formatMs(p.p90Ms),
    formatMs(p.p99Ms),
  ];
}

/**
 * The summary: one row per service, operation and span kind over the whole window, busiest
 * first. With `steps` (a terminal), a last column: the rate per step as a sparkline at most
 * `sparkCells` wide (adjacent steps merged when there are more).
 */
export function formatRed(summary: RedAnswer, paint: Paint, sparks?: { steps: RedAnswer; sparkCells: number }): string {
  const window = `${isoOf(summary.startTimeUnixNano)} to ${isoOf(summary.endTimeUnixNano)}`;
  if (summary.points.length === 0) return `No requests counted from ${window}.\n`;
  const series = sparks && rateSeries(sparks.steps, sparks.sparkCells);
  const columns = series ? [...COLUMNS, { title: `rate per ${series.cellLabel}` }] : COLUMNS;
  const rows = summary.points.map((p) => {
    const row = cells(p, paint);
    if (series) row.push({ text: sparkline(series.rates.get(key(p)) ?? []), paint: paint.cyan });
    return row;
  });
  const requests = summary.points.reduce((n, p) => n + p.requests, 0);
  const errors = summary.points.reduce((n, p) => n + p.errors, 0);
  return renderTable(columns, rows, paint) + `${summary.points.length} series, ${requests} requests, ${errors} errors, from ${window}.\n`;
}

/** Off a terminal, `--step` as rows: one per series and step, in time order. */
export function formatRedSteps(steps: RedAnswer, paint: Paint): string {
  const columns = [{ title: 'step start' }, ...COLUMNS];
  const rows = steps.points.map((p) => [isoOf(p.startTimeUnixNano), ...cells(p, paint)]);
  return renderTable(columns, rows, paint);
}

/**
 * Each series' rate per sparkline cell: the window's steps (missing ones had no request),
 * merged `per` to a cell when there are more than `maxCells`, a cell's rate being its requests
 * over its seconds.
 */
export function rateSeries(steps: RedAnswer, maxCells: number): { rates: Map<string, number[]>; cellLabel: string } {
  const start = BigInt(steps.startTimeUnixNano);
  const windowS = Number((BigInt(steps.endTimeUnixNano) - start) / 1_000_000_000n);
  const stepS = steps.stepSeconds;
  const stepCount = Math.max(1, Math.ceil(windowS / stepS));
  const per = Math.ceil(stepCount / Math.max(1, maxCells));
  const cellCount = Math.ceil(stepCount / per);
  const requests = new Map<string, number[]>();
  for (const p of steps.points) {
    const index = Math.floor(Number((BigInt(p.startTimeUnixNano) - start) / 1_000_000_000n) / stepS / per);
    if (index < 0 || index >= cellCount) continue;
    const counts = requests.get(key(p)) ?? new Array<number>(cellCount).fill(0);
    counts[index]! += p.requests;
    requests.set(key(p), counts);
  }
  const cellSeconds = (i: number) => Math.max(1, Math.min(per * stepS, windowS - i * per * stepS));
  const rates = new Map([...requests].map(([k, counts]) => [k, counts.map((n, i) => n / cellSeconds(i))]));
  return { rates, cellLabel: durationLabel(per * stepS) };
}

/** Seconds (whole minutes) as the shortest of 5m, 2h, 1d. */
function durationLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  return `${Math.round(seconds / 60)}m`;
}
