import { z } from 'zod';
import { parseTraceId } from '../../query/params.js';
import { parseCorrelationId } from '../../query/stitch-routes.js';
import { parseLogCursor } from '../../query/logs/log-cursor.js';
import type { LogPage, LogPageRequest } from '../../query/logs/log-reads.js';
import type { LogView } from '../../query/logs/log-view.js';
import { logsInScope, traceLogsInScope } from '../../query/logs/logs-routes.js';
import { parseSeverity } from '../../query/logs/log-params.js';
import { csvRow, isoTime, word } from '../format.js';
import { CHARS_PER_TOKEN, decodeCursor, encodeCursor, pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'get_logs';
const BUDGET_TOKENS = 3000;
/** Records read per call; the text shows as many as fit, the cursor continues within them, then past them. */
const RECORDS_PER_READ = 200;
/** A body is cut here in the listing. */
const MAX_BODY_CHARS = 400;

export const getLogsTool = defineTool({
  name: NAME,
  title: 'Log records of a trace, span or correlation ID',
  description:
    'The log lines written while a request ran, in time order: of a trace (its own records plus those sharing its correlation IDs, where trace context was lost: found_by says which), ' +
    'of one span (traceId + spanId), or of a correlation ID (flowtrace.correlation_id, e.g. a request ID from a ticket). severity keeps that level or worse. ' +
    'Use after trace_outline or insights to read what the code logged around a slow or failing span; get_span for the span itself.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    traceId: z.string().max(64).optional().describe('32 hex digits: the logs of this trace'),
    spanId: z
      .string()
      .regex(/^[0-9a-fA-F]{16}$/, 'expected 16 hex digits')
      .optional()
      .describe('16 hex digits, with traceId: only this span\'s logs'),
    correlationId: z.string().min(1).max(512).optional().describe('instead of traceId: every record carrying this correlation ID'),
    severity: z.string().max(16).optional().describe('trace, debug, info, warn, error or fatal: that level or worse'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to see more records of the same request'),
  },
  async run(input, ctx) {
    const traceId = input.traceId === undefined ? undefined : parseTraceId(input.traceId);
    const spanId = input.spanId?.toLowerCase();
    const correlationId = input.correlationId === undefined ? undefined : parseCorrelationId(input.correlationId);
    if ((traceId === undefined) === (correlationId === undefined)) throw new ToolInputError('pass traceId (optionally with spanId) or correlationId, one of the two');
    if (spanId !== undefined && traceId === undefined) throw new ToolInputError('spanId needs the traceId of its trace');
    const minSeverity = severityOf(input.severity);
    const asked = { traceId: traceId ?? '', spanId: spanId ?? '', correlationId: correlationId ?? '', severity: input.severity ?? '' };
    let offset = 0;
    let readFrom = '';
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      if (Object.entries(asked).some(([key, value]) => state.pin[key] !== value)) throw new ToolInputError('cursor: it continues another request; pass the same traceId, spanId, correlationId and severity with it');
      offset = state.offset;
      readFrom = state.pin.readFrom ?? '';
    }
    const page: LogPageRequest = { limit: RECORDS_PER_READ, order: 'asc', cursor: readFrom === '' ? undefined : parseLogCursor(readFrom, 'asc') };
    const rules = ctx.principal.rules;
    const deps = { reader: ctx.deps.reader, readScopes: ctx.deps.readScopes };
    let read: LogPage;
    let head: string;
    if (traceId !== undefined && spanId === undefined) {
      const found = await traceLogsInScope(deps, rules, traceId, page, minSeverity);
      read = found.page;
      head = `# logs of trace ${traceId}${found.correlationIds.length > 0 ? ` and of its correlation IDs ${correlationList(found.correlationIds)}` : ''}${input.severity ? `, ${input.severity} or worse` : ''}`;
    } else {
      read = await logsInScope(deps, rules, { traceId, spanId, correlationId, minSeverity }, page);
      head = `# logs of ${spanId ? `span ${spanId} of trace ${traceId}` : `correlation ID ${JSON.stringify(correlationId)}`}${input.severity ? `, ${input.severity} or worse` : ''}`;
    }
    if (offset > read.logs.length) throw new ToolInputError('cursor: past the end of its records; omit it to start over');
    if (read.logs.length === 0) {
      return `${head}\n# none: no records (yet), older than the retention, or their services are not readable with your token`;
    }
    const lines = read.logs.map((log) => logLine(log, traceId));
    const columns = 'time,severity,service,trace_id,span_id,found_by,body';
    const shown = pageLines(lines, offset, BUDGET_TOKENS * CHARS_PER_TOKEN - head.length - columns.length - 500);
    // A cursor names the read it continues (the API's cursor) and the records of it already shown.
    const cursorAt = (shownOfRead: number, from: string) => `# more: call ${NAME} again with cursor="${encodeCursor({ tool: NAME, offset: shownOfRead, pin: { ...asked, readFrom: from } })}"`;
    let tail = '# end';
    if (shown.next !== undefined) tail = cursorAt(shown.next, readFrom);
    else if (read.nextCursor !== undefined) tail = cursorAt(0, read.nextCursor);
    return [head, '# trace_id is empty for records of the asked trace; found_by: trace (names it) or correlation (shares its correlation ID)', columns, shown.text, tail].join('\n');
  },
});

function severityOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  return parseSeverity(text);
}

/** Correlation IDs shown in the heading: sender-controlled, so quoted when they hold spaces or breaks, cut, and few (the records say the rest). */
const HEAD_IDS = 5;
const HEAD_ID_CHARS = 64;
function correlationList(ids: readonly string[]): string {
  const shown = ids.slice(0, HEAD_IDS).map((id) => word(id.length > HEAD_ID_CHARS ? `${id.slice(0, HEAD_ID_CHARS)}…` : id));
  return ids.length > HEAD_IDS ? `${shown.join(' ')} and ${ids.length - HEAD_IDS} more` : shown.join(' ');
}

/** A sender's text on one line: a line break would start a line the model could take for the tool's own. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n\u0085\u2028\u2029]+\s*/g, ' ⏎ ');
}

/** One CSV line: every field on one line, the body cut to MAX_BODY_CHARS. */
export function logLine(log: LogView, askedTraceId: string | undefined): string {
  const body = typeof log.body === 'string' ? log.body : JSON.stringify(log.body);
  const flat = oneLine(body);
  const cut = flat.length > MAX_BODY_CHARS || log.bodyTruncated ? `${flat.slice(0, MAX_BODY_CHARS)}… [cut]` : flat;
  const severity = log.severityText || (log.severityNumber > 0 ? String(log.severityNumber) : '');
  const fields = [severity, log.serviceName, log.traceId === askedTraceId ? '' : log.traceId, log.spanId].map(oneLine);
  return csvRow([isoTime(log.timeUnixNano), ...fields, log.foundBy ?? '', cut]);
}
