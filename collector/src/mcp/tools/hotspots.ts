import { z } from 'zod';
import { MAX_HOTSPOTS } from '../../analysis/index.js';
import { DEFAULT_LIMIT, hotspotsInScope } from '../../query/hotspots-routes.js';
import { parseTraceId } from '../../query/params.js';
import { csvRow, formatDuration, isoTime, msNumber } from '../format.js';
import { pageLines } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'hotspots';
const BUDGET_TOKENS = 2500;

/**
 * The methods that burn the most self time (analysis/hotspots.ts through hotspotsInScope, as
 * GET /api/hotspots): an aggregate over every matching span of a window, never samples. One
 * page: when the rows do not fit, the answer says so and the model narrows or lowers `limit`.
 */
export const hotspotsTool = defineTool({
  name: NAME,
  title: 'Hotspots',
  description:
    'Step 3: which methods burn the time, over a window or in one trace: self time (own time, children excluded), calls, errors and share of all self time, by service and method ' +
    '(code.namespace + code.function.name, else the span name), most self time first. Filter by service, by operation (traces whose root span has that name) or by traceId. ' +
    'Next: find_traces for traces of a hot method, or critical_path on one trace.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    service: z.string().max(1024).optional().describe('only spans of this service'),
    operation: z.string().max(1024).optional().describe('only traces whose root span has this name'),
    traceId: z.string().max(64).optional().describe('only this trace (32 hex digits); with no window given, the trace\'s own time range'),
    lookback: z.string().max(32).optional().describe('window length before end (default 1h, at most 168h): 15m, 6h'),
    start: z.string().max(40).optional().describe('window start, ISO-8601 (overrides lookback)'),
    end: z.string().max(40).optional().describe('window end, ISO-8601 (default now)'),
    limit: z.number().int().min(1).max(MAX_HOTSPOTS).optional().describe(`methods listed (default ${DEFAULT_LIMIT})`),
  },
  async run(input, ctx) {
    const traceId = input.traceId === undefined ? undefined : parseTraceId(input.traceId);
    const { answer, startNs, endNs } = await hotspotsInScope(ctx.deps, ctx.principal.rules, {
      service: input.service || undefined,
      operation: input.operation || undefined,
      traceId,
      limit: input.limit ?? DEFAULT_LIMIT,
      window: { start: input.start, end: input.end, lookback: input.lookback },
    });
    const filters = [input.service && `service=${input.service}`, input.operation && `operation=${input.operation}`, traceId && `traceId=${traceId}`].filter(Boolean);
    const head = `# hotspots in ${isoTime(startNs.toString())} .. ${isoTime(endNs.toString())}${filters.length ? `; ${filters.join(' ')}` : ''}: ${answer.methodCount} method(s), ${answer.totalCalls} calls, ${formatDuration(answer.totalSelfNs)} self time in all`;
    if (answer.hotspots.length === 0) {
      return `${head}\n# nothing matched: widen the window (lookback=6h), drop a filter, or check names (exact match; your token may also limit which services you can read)`;
    }
    const rows = answer.hotspots.map((h) => csvRow([h.service, h.method, h.calls, h.errors, msNumber(h.selfNs), msNumber(h.totalNs), `${(h.share * 100).toFixed(1)}%`]));
    const page = pageLines(rows, 0, BUDGET_TOKENS * 4 - head.length - 300);
    const listed = page.next ?? rows.length;
    const tail =
      page.next !== undefined
        ? `# cut: ${rows.length - listed} more row(s) did not fit; ask for a lower limit or filter by service`
        : answer.methodCount > listed
          ? `# top ${listed} of ${answer.methodCount} methods; raise limit (at most ${MAX_HOTSPOTS}) or filter for more`
          : `# end (${listed} methods)`;
    return [head, 'service,method,calls,errors,self_ms,total_ms,share', page.text, tail].join('\n');
  },
});
