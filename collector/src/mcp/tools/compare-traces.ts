import { z } from 'zod';
import { compareTraces, type MissingPath, type PathDiff, type TraceComparison } from '../../analysis/index.js';
import { compareWithTypical, DEFAULT_TYPICAL_LOOKBACK_NS, MAX_TYPICAL_TRACES } from '../../query/analysis-routes.js';
import { parseWindow } from '../../query/params.js';
import { csvRow, formatDuration, msNumber } from '../format.js';
import { decodeCursor, pagedAnswer, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';
import { analysisTrace } from './analysis-trace.js';

const NAME = 'compare_traces';
const BUDGET_TOKENS = 3000;
const DEFAULT_TYPICAL_TRACES = 10;

/**
 * Two traces (or a trace and the typical shape of its root operation) aligned by
 * service + operation + method path (analysis/compare.ts, as GET /api/compare): paths only in
 * one of them (a missing subtree is one line), then paths whose count or total duration changed,
 * biggest change first. Lines page with a cursor that pins the traces and, for "typical", the window.
 */
export const compareTracesTool = defineTool({
  name: NAME,
  title: 'Compare traces',
  description:
    'What changed between two traces of the same operation (a slow one and a fast one, before and after a deploy), or between a trace and the typical shape of its root operation (b="typical": the median of recent traces). ' +
    'Spans are aligned by their service/operation path: answers the paths only in A, only in B, and those whose call count or total duration differ, biggest change first. ' +
    'Next: trace_outline or critical_path on the trace where the difference is.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    a: z.string().max(64).describe('trace ID (32 hex digits)'),
    b: z.string().max(64).describe('another trace ID, or "typical"'),
    n: z.number().int().min(1).max(MAX_TYPICAL_TRACES).optional().describe(`with b="typical": how many recent traces (default ${DEFAULT_TYPICAL_TRACES})`),
    lookback: z.string().max(32).optional().describe('with b="typical": how far back to look for them (default 24h)'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to continue; the other fields are then taken from the cursor'),
  },
  async run(input, ctx) {
    let offset = 0;
    let { a: aText, b: bText } = input;
    let window: { startNs: bigint; endNs: bigint } | undefined;
    let n = input.n ?? DEFAULT_TYPICAL_TRACES;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      offset = state.offset;
      aText = state.pin.a!;
      bText = state.pin.b!;
      if (bText === 'typical') {
        window = { startNs: BigInt(/^\d{1,20}$/.test(state.pin.start ?? '') ? state.pin.start! : '0'), endNs: BigInt(/^\d{1,20}$/.test(state.pin.end ?? '') ? state.pin.end! : '0') };
        n = Math.min(MAX_TYPICAL_TRACES, Math.max(1, Number(state.pin.n) || DEFAULT_TYPICAL_TRACES));
      }
    } else if (input.lookback !== undefined && bText !== 'typical') {
      throw new ToolInputError('lookback: only with b="typical"');
    }
    const { traceId: a, spans: spansA } = await analysisTrace(ctx, aText, false, 'a: trace');
    let result: TraceComparison;
    let bLabel: string;
    const pin: Record<string, string> = { a, b: bText };
    if (bText === 'typical') {
      window ??= parseWindow({ lookback: input.lookback }, DEFAULT_TYPICAL_LOOKBACK_NS);
      const typical = await compareWithTypical(await ctx.reads(), spansA, n, window.startNs, window.endNs);
      if (!typical) {
        throw new ToolInputError(`no other trace of trace ${a}'s root operation in the window to compare with; widen it (lookback="168h") or compare with another trace ID`);
      }
      result = typical.result;
      bLabel = `typical shape of ${typical.traces} recent trace(s) of the same root operation (median ${result.b.spanCount} spans)`;
      Object.assign(pin, { start: window.startNs.toString(), end: window.endNs.toString(), n: String(n) });
    } else {
      const { traceId: b, spans: spansB } = await analysisTrace(ctx, bText, false, 'b: trace');
      pin.b = b;
      result = compareTraces(spansA, spansB);
      bLabel = `trace ${b}: ${result.b.spanCount} spans, ${formatDuration(result.b.durationNs)}`;
    }
    const head = [
      `# A = trace ${a}: ${result.a.spanCount} spans, ${formatDuration(result.a.durationNs)}`,
      `# B = ${bLabel}`,
      `# ${result.onlyInA.length} path(s) only in A, ${result.onlyInB.length} only in B, ${result.changed.length} changed, ${result.unchangedPaths} unchanged; paths are service:operation steps joined by " > "; delta = B - A`,
    ];
    const missing = (d: MissingPath) => csvRow([d.path, d.depth, d.countA || d.countB, msNumber(d.totalNsA || d.totalNsB), d.pathsBelow]);
    const changed = (d: PathDiff) => csvRow([d.path, d.countA, d.countB, msNumber(d.totalNsA), msNumber(d.totalNsB), msNumber(d.deltaNs)]);
    const lines = [
      ...(result.onlyInA.length ? ['# only in A', 'path,depth,count,total_ms,paths_below', ...result.onlyInA.map(missing)] : []),
      ...(result.onlyInB.length ? ['# only in B', 'path,depth,count,total_ms,paths_below', ...result.onlyInB.map(missing)] : []),
      ...(result.changed.length ? ['# changed', 'path,count_a,count_b,total_ms_a,total_ms_b,delta_ms', ...result.changed.map(changed)] : []),
    ];
    if (lines.length === 0) lines.push('# the two have the same paths with the same counts and durations');
    return pagedAnswer(NAME, BUDGET_TOKENS, head, lines, offset, pin);
  },
});
