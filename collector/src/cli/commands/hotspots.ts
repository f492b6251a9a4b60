import { MAX_HOTSPOTS } from '../../analysis/hotspots.js';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatDuration } from '../format.js';
import { isTraceId } from './analysis-answers.js';
import { bar, renderTable, type Cell } from './metric-table.js';
import { windowParameter } from './search.js';
import { paintFor, type Paint } from './terminal.js';

const USAGE = `Usage: flowtrace hotspots [options]

The methods that burn the most self time (time not spent in a child span), with call counts
and their share of the self time of every span matched (from the collector's /api/hotspots).
A method is code.namespace + code.function.name, or the span name.

Options:
${CONNECTION_HELP}
  --service NAME       only spans of this service
  --operation NAME     only traces whose root span has this name
  --trace ID           only this trace (32 hex digits); without --since, over its own time range
  --since WHEN         how far back: a duration (30m, 1h, 7d) or an ISO-8601 time (default 1h;
                       at most 7 days)
  --limit N            methods shown, most self time first, 1 to ${MAX_HOTSPOTS} (default 20)
  --json               print the answer as JSON
  -h, --help           show this help
`;

/** GET /api/hotspots (hotspots-routes.ts). */
export interface HotspotsAnswer {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  totalSelfNano: string;
  totalCalls: number;
  methodCount: number;
  hotspots: Array<{ service: string; method: string; calls: number; errors: number; selfNano: string; totalNano: string; share: number }>;
}

/** Cells of the share bar: 20, so that one cell is 5 %. */
const BAR_CELLS = 20;

export const hotspotsCommand: Command = {
  path: ['hotspots'],
  summary: 'methods by self time across traces, with calls and share of the total',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      service: { type: 'string' },
      operation: { type: 'string' },
      trace: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!/^\d{1,3}$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > MAX_HOTSPOTS) {
      throw new UsageError(`--limit: expected a whole number from 1 to ${MAX_HOTSPOTS}, got '${values.limit}'`);
    }
    if (values.trace !== undefined && !isTraceId(values.trace)) throw new UsageError(`--trace: expected 32 hex digits, got '${values.trace.slice(0, 64)}'`);
    const query = new URLSearchParams({ limit: values.limit });
    if (values.service !== undefined) query.set('service', values.service);
    if (values.operation !== undefined) query.set('operation', values.operation);
    if (values.trace !== undefined) query.set('traceId', values.trace);
    // With a trace and no --since, the route takes the trace's own time range.
    if (values.since !== undefined || values.trace === undefined) {
      for (const [name, value] of Object.entries(windowParameter(values.since ?? '1h'))) query.set(name, value);
    }
    const token = apiCredential(values['token-file'], io.env);
    let answer: HotspotsAnswer;
    try {
      answer = await callApi<HotspotsAnswer>(apiUrl(values.api, io.env), `/api/hotspots?${query}`, { token });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace hotspots: ${err.message}\n`);
      return 1;
    }
    if (values.json) {
      io.stdout.write(JSON.stringify(answer, null, 2) + '\n');
      return 0;
    }
    io.stdout.write(formatHotspots(answer, paintFor(io), (io.stdout as { isTTY?: boolean }).isTTY === true));
    return 0;
  },
};

/** Share (0 to 1) as a percentage with one decimal; a sliver never shown as 0. */
export function formatShare(share: number): string {
  if (share === 0) return '0%';
  if (share < 0.001) return '<0.1%';
  return `${(share * 100).toFixed(1)}%`;
}

/** The table, most self time first; `bars` (on a terminal) adds each share as a bar, 5 % a cell. */
export function formatHotspots(answer: HotspotsAnswer, paint: Paint, bars: boolean): string {
  const window = `${isoOf(answer.startTimeUnixNano)} to ${isoOf(answer.endTimeUnixNano)}`;
  if (answer.hotspots.length === 0) return `No spans from ${window}.\n`;
  const columns = [{ title: 'method' }, { title: 'service' }, { title: 'calls', right: true }, { title: 'self', right: true }, { title: 'share', right: true }];
  if (bars) columns.push({ title: '' });
  const rows = answer.hotspots.map((h) => {
    const row: Cell[] = [h.method, h.service, String(h.calls), formatDuration(BigInt(h.selfNano)), formatShare(h.share)];
    if (bars) row.push({ text: bar(h.share, BAR_CELLS), paint: paint.yellow });
    return row;
  });
  const shown = answer.hotspots.length < answer.methodCount ? `${answer.hotspots.length} of ${answer.methodCount}` : `${answer.methodCount}`;
  return (
    renderTable(columns, rows, paint) +
    `${shown} method${answer.methodCount === 1 ? '' : 's'}; ${formatDuration(BigInt(answer.totalSelfNano))} self time over ${answer.totalCalls} calls, from ${window}.\n`
  );
}

function isoOf(unixNano: string): string {
  return new Date(Number(BigInt(unixNano) / 1_000_000n)).toISOString();
}
