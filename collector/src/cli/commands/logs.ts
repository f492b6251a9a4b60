import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import type { LogView } from '../../query/logs/log-view.js';
import { isTraceId } from './analysis-answers.js';
import { formatLogLines } from './logs-format.js';

const USAGE = `Usage: flowtrace logs [options] TRACE_ID
       flowtrace logs [options] TRACE_ID --span-id SPAN_ID
       flowtrace logs [options] --correlation-id ID

Prints log records in time order: one per line with time, severity, service, span and body.
With a trace ID alone: the trace's records and those sharing its correlation IDs (written where
trace context was lost), marked [by correlation ID …]. With --span-id: that span's records only.
With --correlation-id: every record carrying that flowtrace.correlation_id.

Options:
${CONNECTION_HELP}
  --span-id SPAN_ID    only the records of this span (16 hex digits) of TRACE_ID
  --correlation-id ID  the records of this correlation ID (instead of TRACE_ID)
  --severity LEVEL     trace, debug, info, warn, error or fatal: that level or worse
  --limit N            records to print at most (default 1000, at most 100000)
  --json               print {"logs": [...]} as the API returns the records instead
  -h, --help           show this help
`;

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;
/** The API's largest page. */
const PAGE = 1000;
const SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

interface LogPageAnswer {
  logs: LogView[];
  nextCursor?: string;
}

export const logsCommand: Command = {
  path: ['logs'],
  summary: 'print the log records of a trace, a span or a correlation ID',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      'span-id': { type: 'string' },
      'correlation-id': { type: 'string' },
      severity: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const path = requestPath(positionals, values);
    const limit = parseLimit(values.limit);
    const token = apiCredential(values['token-file'], io.env);
    try {
      const logs = await readAll(apiUrl(values.api, io.env), path, limit, token);
      if (values.json) io.stdout.write(JSON.stringify({ logs }, null, 2) + '\n');
      else if (logs.length === 0) io.stderr.write('no log records (none yet, older than the retention, or not readable with your token)\n');
      else io.stdout.write(formatLogLines(logs, positionals[0]?.toLowerCase()));
      return 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace logs: ${err.message}\n`);
      return 1;
    }
  },
};

/** The API path (without paging) of what the arguments ask for; UsageError (exit 2) for a wrong combination or value. */
function requestPath(positionals: string[], values: { 'span-id'?: string; 'correlation-id'?: string; severity?: string }): string {
  const correlationId = values['correlation-id'];
  const spanId = values['span-id'];
  if (positionals.length > 1) throw new UsageError('expected at most one trace ID');
  const traceId = positionals[0];
  if ((traceId === undefined) === (correlationId === undefined)) throw new UsageError('expected a TRACE_ID or --correlation-id ID (one of the two)');
  if (traceId !== undefined && !isTraceId(traceId)) throw new UsageError(`TRACE_ID: expected 32 hex digits, got '${traceId.slice(0, 64)}'`);
  if (spanId !== undefined && traceId === undefined) throw new UsageError('--span-id: needs the TRACE_ID of its trace');
  if (spanId !== undefined && !/^[0-9a-fA-F]{16}$/.test(spanId)) throw new UsageError(`--span-id: expected 16 hex digits, got '${spanId.slice(0, 64)}'`);
  if (correlationId !== undefined && (correlationId === '' || correlationId.length > 512)) throw new UsageError('--correlation-id: expected 1 to 512 characters');
  const severity = values.severity?.toLowerCase();
  if (severity !== undefined && !SEVERITIES.includes(severity)) throw new UsageError(`--severity: expected one of ${SEVERITIES.join(', ')}, got '${values.severity!.slice(0, 64)}'`);
  const query = new URLSearchParams({ order: 'asc' });
  if (severity !== undefined) query.set('severity', severity);
  // A whole trace: the trace route, which adds the records of its correlation IDs.
  if (traceId !== undefined && spanId === undefined) return `/api/traces/${traceId.toLowerCase()}/logs?${query}`;
  if (traceId !== undefined) query.set('trace_id', traceId);
  if (spanId !== undefined) query.set('span_id', spanId);
  if (correlationId !== undefined) query.set('correlation_id', correlationId);
  return `/api/logs?${query}`;
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new UsageError(`--limit: expected a whole number from 1 to ${MAX_LIMIT}, got '${text.slice(0, 64)}'`);
  return n;
}

/** Follows the API's cursors until `limit` records or the last page. */
async function readAll(base: string, path: string, limit: number, token: string | undefined): Promise<LogView[]> {
  const logs: LogView[] = [];
  let cursor: string | undefined;
  do {
    const page = await callApi<LogPageAnswer>(base, `${path}&limit=${Math.min(PAGE, limit - logs.length)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    logs.push(...page.logs);
    cursor = page.nextCursor;
  } while (cursor !== undefined && logs.length < limit);
  return logs;
}
