import { z } from 'zod';
import { correlationTraces, parseCorrelationId } from '../../query/stitch-routes.js';
import { csvRow, formatDuration, isoTime, msNumber } from '../format.js';
import { continuation, decodeCursor, pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'lookup_correlation';
const BUDGET_TOKENS = 2000;
/** Traces of one correlation ID read at most (as GET /api/correlations/:id?limit=1000). */
const MAX_TRACES = 1000;

export const lookupCorrelationTool = defineTool({
  name: NAME,
  title: 'Correlation ID lookup',
  description:
    'One request across services and traces: every stored trace carrying a correlation ID (flowtrace.correlation_id, e.g. a request ID from a log line or a support ticket), ' +
    'with the services it touched and when it was first and last seen; trace IDs recorded but no longer stored are listed too. Next: trace_outline on a trace.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    correlationId: z.string().min(1).max(512).describe('the correlation ID, exactly as logged'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to see more traces of the same ID'),
  },
  async run(input, ctx) {
    let offset = 0;
    let id = input.correlationId;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      if (state.pin.id !== id) throw new ToolInputError(`cursor: it continues correlation ID ${JSON.stringify(state.pin.id)}; pass that ID with it`);
      offset = state.offset;
      id = state.pin.id;
    }
    const found = await correlationTraces(ctx.deps.reader, await ctx.reads(), parseCorrelationId(id), MAX_TRACES);
    if (!found) {
      return `# correlation ID ${JSON.stringify(id)} not found: not seen yet, older than the retention, or its services are not readable with your token; find_traces with correlationId searches the spans themselves`;
    }
    const span = BigInt(found.lastSeenUnixNano) - BigInt(found.firstSeenUnixNano);
    const errors = found.traces.filter((t) => t.errorCount > 0).length;
    const head = [
      `# correlation ${JSON.stringify(found.correlationId)}: ${found.traces.length} stored trace(s), ${errors} with errors, first seen ${isoTime(found.firstSeenUnixNano)}, last seen ${isoTime(found.lastSeenUnixNano)} (${formatDuration(span)} apart)`,
      `# services: ${found.services.join(', ') || '(none)'}`,
    ];
    if (found.missingTraceIds.length > 0) {
      const shown = found.missingTraceIds.slice(0, 20);
      head.push(`# recorded but not stored (expired, dropped or not yet written): ${shown.join(' ')}${found.missingTraceIds.length > shown.length ? ` and ${found.missingTraceIds.length - shown.length} more` : ''}`);
    }
    head.push('trace_id,start,duration_ms,spans,errors,root_service,root_operation,services');
    const rows = found.traces.map((t) => csvRow([t.traceId, isoTime(t.startTimeUnixNano), msNumber(t.durationNano), t.spanCount, t.errorCount, t.rootServiceName, t.rootSpanName, t.services.join(' ')]));
    const page = pageLines(rows, offset, BUDGET_TOKENS * 4 - head.join('\n').length - 300);
    return [...head, page.text, continuation(NAME, page.next, rows.length, { id }, 'traces')].join('\n');
  },
});
