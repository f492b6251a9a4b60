import { z } from 'zod';
import { parseTraceId } from '../../query/params.js';
import { adjustClockSkew } from '../../query/stitch-routes.js';
import { traceOutline } from '../outline.js';
import { continuation, decodeCursor, pageLines, ToolInputError } from '../paging.js';
import { defineTool, type ToolContext } from '../tool.js';
import type { SpanView } from '../../query/span-view.js';

const NAME = 'trace_outline';
const BUDGET_TOKENS = 6000;
/** Beyond this the trace is not outlined in memory at all. */
export const MAX_OUTLINE_SPANS = 100_000;

export const traceOutlineTool = defineTool({
  name: NAME,
  title: 'Trace outline',
  description:
    'Step 2: the shape of one trace, one line per span, depth-first and indented: path, service, name, duration, self time, ERR mark, #span_id. ' +
    'Repeated sibling calls are merged into one "×N" line (look there for N+1 queries). Times are clock-skew adjusted. ' +
    'Long traces page: pass the cursor to continue, or narrow with rootSpanId (a subtree) or maxDepth. Next: get_span with a #span_id.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    traceId: z.string().max(64).describe('32 hex digits, from find_traces'),
    rootSpanId: z.string().regex(/^[0-9a-fA-F]{16}$/, 'expected 16 hex digits').optional().describe('outline only the subtree under this span'),
    maxDepth: z.number().int().min(0).max(10_000).optional().describe('list spans down to this depth only; deeper ones are counted as "+N below"'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to continue; the other fields are then taken from the cursor'),
  },
  async run(input, ctx) {
    let offset = 0;
    let traceId = input.traceId;
    let rootSpanId = input.rootSpanId?.toLowerCase();
    let maxDepth = input.maxDepth;
    let expectedSpans: number | undefined;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      offset = state.offset;
      traceId = state.pin.trace!;
      rootSpanId = state.pin.root || undefined;
      maxDepth = state.pin.depth ? Number(state.pin.depth) : undefined;
      expectedSpans = Number(state.pin.spans);
    }
    const id = parseTraceId(traceId);
    const spans = await loadTrace(ctx, id);
    const outline = traceOutline(id, spans, { rootSpanId, maxDepth });
    const head = [...outline.header];
    if (expectedSpans !== undefined && expectedSpans !== spans.length) {
      head.push(`# note: the trace had ${expectedSpans} spans when paging started and has ${spans.length} now (spans still arriving); lines may have shifted`);
    }
    if (offset > outline.lines.length) throw new ToolInputError(`cursor: past the end of the outline (${outline.lines.length} lines); omit it to start over`);
    const budget = BUDGET_TOKENS * 4 - head.join('\n').length - 400;
    const page = pageLines(outline.lines, offset, budget);
    const pin = { trace: id, root: rootSpanId ?? '', depth: maxDepth === undefined ? '' : String(maxDepth), spans: String(spans.length) };
    const range = `# lines ${offset + 1}-${offset + page.shown} of ${outline.lines.length}`;
    return [...head, range, page.text, continuation(NAME, page.next, outline.lines.length, pin)].join('\n');
  },
});

/** The trace through the caller's read rules, clock-skew adjusted as the critical path is. */
export async function loadTrace(ctx: ToolContext, traceId: string): Promise<SpanView[]> {
  const { store } = await ctx.reads();
  const spans = await store.getTrace(traceId);
  if (!spans) throw new ToolInputError(`trace ${traceId} not found: it may be older than the retention, not stored yet, or not readable with your token; find_traces lists the ones you can read`);
  if (spans.length > MAX_OUTLINE_SPANS) {
    throw new ToolInputError(`trace ${traceId} has ${spans.length} spans, more than ${MAX_OUTLINE_SPANS} can be outlined; use sql to aggregate it (GROUP BY ServiceName, SpanName)`);
  }
  return adjustClockSkew(ctx.deps.reader, ctx.deps.database, spans);
}
