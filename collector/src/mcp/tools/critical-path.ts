import { z } from 'zod';
import { buildTree, criticalPathOf, type CriticalPath } from '../../analysis/index.js';
import { csvRow, formatDuration, msNumber } from '../format.js';
import { decodeCursor, pagedAnswer } from '../paging.js';
import { defineTool } from '../tool.js';
import { analysisTrace, percent } from './analysis-trace.js';

const NAME = 'critical_path';
const BUDGET_TOKENS = 3000;
const DEFAULT_TOP = 10;
const MAX_TOP = 50;
/**
 * Segments shorter than this share of the latency, when two or more are consecutive, are one
 * line: a loop of thousands of short calls is one fact for the model, not thousands of rows.
 */
const SHORT_SEGMENT_SHARE = 0.01;

/**
 * The critical path of one trace (analysis/critical-path.ts, as GET /api/traces/:id/critical-path):
 * the spans with most self time first (where the time goes), then the chronological chain of
 * segments that makes up the end-to-end latency. Lines page with a cursor pinned to the trace.
 */
export const criticalPathTool = defineTool({
  name: NAME,
  title: 'Critical path',
  description:
    'Step 3: why one trace took as long as it did. Answers the spans with the most self time (own time, children excluded) and their time on the critical path, ' +
    'then the critical path itself: the chain of spans, in time order, whose durations add up to the end-to-end latency (async children excluded, clock skew adjusted). ' +
    'Next: get_span on a span that holds much of the path, or insights for known patterns (N+1, sequential calls).',
  budgetTokens: BUDGET_TOKENS,
  input: {
    traceId: z.string().max(64).describe('32 hex digits, from find_traces'),
    top: z.number().int().min(1).max(MAX_TOP).optional().describe(`spans listed by self time (default ${DEFAULT_TOP})`),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to continue; the other fields are then taken from the cursor'),
  },
  async run(input, ctx) {
    let offset = 0;
    let traceIdText = input.traceId;
    let top = input.top ?? DEFAULT_TOP;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      offset = state.offset;
      traceIdText = state.pin.trace!;
      top = Math.min(MAX_TOP, Math.max(1, Number(state.pin.top) || DEFAULT_TOP));
    }
    const { traceId, spans } = await analysisTrace(ctx, traceIdText, true);
    const path = criticalPathOf(buildTree(spans))!;
    const head = [
      `# critical path of trace ${traceId}: ${formatDuration(path.durationNs)} end to end from #${path.rootSpanId}; ${spans.length} spans, ${path.segments.length} segments on the path, ${path.asyncSpanIds.length} async spans off it`,
    ];
    const lines = [
      `# top ${Math.min(top, path.selfTimes.length)} spans by self time`,
      'span_id,service,name,duration_ms,self_ms,self_share,on_path_ms',
      ...path.selfTimes
        .slice(0, top)
        .map((s) => csvRow([s.spanId, s.serviceName, s.name, msNumber(s.durationNs), msNumber(s.selfNs), percent(s.selfNs, path.durationNs), msNumber(s.criticalNs)])),
      `# the path in time order (each segment starts where the previous ended; runs of segments under ${SHORT_SEGMENT_SHARE * 100}% each folded into one "…" line)`,
      'at_ms,duration_ms,share,span_id,service,name',
      ...pathLines(path),
    ];
    return pagedAnswer(NAME, BUDGET_TOKENS, head, lines, offset, { trace: traceId, top: String(top) });
  },
});

/** The segments as CSV rows, consecutive short ones folded into a run line with their count, time and spans. */
export function pathLines(path: CriticalPath): string[] {
  const segments = path.segments;
  if (segments.length === 0) return [];
  const origin = segments[0]!.startNs;
  const short = (ns: bigint) => Number(ns) < Number(path.durationNs) * SHORT_SEGMENT_SHARE;
  const out: string[] = [];
  for (let i = 0; i < segments.length; ) {
    let j = i;
    while (j < segments.length && short(segments[j]!.durationNs)) j++;
    if (j - i >= 2) {
      const run = segments.slice(i, j);
      const total = run.reduce((sum, s) => sum + s.durationNs, 0n);
      const spans = new Set(run.map((s) => s.spanId)).size;
      const names = [...new Set(run.map((s) => `${s.serviceName} ${s.name}`))];
      const named = names.length <= 3 ? names.join('; ') : `${names.slice(0, 2).join('; ')}; +${names.length - 2} more names`;
      out.push(csvRow([msNumber(run[0]!.startNs - origin), msNumber(total), percent(total, path.durationNs), `…${run.length} segments of ${spans} spans`, '', named]));
      i = j;
      continue;
    }
    const s = segments[i]!;
    out.push(csvRow([msNumber(s.startNs - origin), msNumber(s.durationNs), percent(s.durationNs, path.durationNs), s.spanId, s.serviceName, s.name]));
    i++;
  }
  return out;
}
