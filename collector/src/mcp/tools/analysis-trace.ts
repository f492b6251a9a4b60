import { readAnalysisTrace } from '../../query/analysis-routes.js';
import { parseTraceId } from '../../query/params.js';
import type { SpanView } from '../../query/span-view.js';
import { ToolInputError } from '../paging.js';
import type { ToolContext } from '../tool.js';

/**
 * One trace for the analysis tools, read exactly as the REST analysis routes read it
 * (readAnalysisTrace: the caller's read scope, the span limit, clock skew when `adjust`);
 * a missing trace is an error that tells the model what to do.
 */
export async function analysisTrace(ctx: ToolContext, traceIdText: string, adjust: boolean, label = 'trace'): Promise<{ traceId: string; spans: SpanView[] }> {
  const traceId = parseTraceId(traceIdText);
  const spans = await readAnalysisTrace(ctx.deps, await ctx.reads(), traceId, adjust);
  if (!spans) {
    throw new ToolInputError(
      `${label} ${traceId} not found: it may be older than the retention, not stored yet, or not readable with your token; find_traces lists the ones you can read`,
    );
  }
  return { traceId, spans };
}

/** A percentage of `whole`, rounded to one decimal ("-" when whole is 0). */
export function percent(part: bigint, whole: bigint): string {
  if (whole <= 0n) return '-';
  return `${(Number((part * 100_000n) / whole) / 1000).toFixed(1)}%`;
}
