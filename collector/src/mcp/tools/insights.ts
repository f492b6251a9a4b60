import { z } from 'zod';
import { buildTree, insightsOf, type CompletenessFinding, type Insight } from '../../analysis/index.js';
import { unrestricted } from '../../auth/principal.js';
import { completenessWithEvidence } from '../../query/analysis-routes.js';
import { formatDuration, valueText, word } from '../format.js';
import { decodeCursor, pagedAnswer } from '../paging.js';
import { defineTool } from '../tool.js';
import { analysisTrace } from './analysis-trace.js';

const NAME = 'insights';
const BUDGET_TOKENS = 3000;
/** Span IDs shown per insight; the count says how many there are. */
const SPAN_IDS_SHOWN = 5;

/**
 * Rule-based insights and completeness of one trace (analysis/insights.ts and completeness.ts
 * with its evidence, as GET /api/traces/:id/insights): one block per insight naming its spans,
 * then each orphan, unanswered client span and missing remote parent with its likely reason.
 */
export const insightsTool = defineTool({
  name: NAME,
  title: 'Insights and completeness',
  description:
    'Step 3: known problems in one trace, each naming its spans: N+1 (repeated sibling DB/HTTP calls with the same statement or route), sequential calls that could run in parallel, ' +
    'error origin (the deepest failed span and its exception), retries, a slow method dominating self time. ' +
    'Then completeness: orphans, client calls with no server span, missing remote parents, each with its likely reason (not sampled upstream, dropped, not instrumented, header lost). ' +
    'Next: get_span on a named span.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    traceId: z.string().max(64).describe('32 hex digits, from find_traces'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to continue'),
  },
  async run(input, ctx) {
    let offset = 0;
    let traceIdText = input.traceId;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      offset = state.offset;
      traceIdText = state.pin.trace!;
    }
    const { traceId, spans } = await analysisTrace(ctx, traceIdText, true);
    const readRestricted = !unrestricted(ctx.principal.rules);
    const found = insightsOf(buildTree(spans));
    const complete = await completenessWithEvidence(ctx.deps.reader, await ctx.reads(), spans, readRestricted);
    const findings = [
      ...complete.orphans.map((f) => findingLine('orphan', f)),
      ...complete.unansweredClientSpans.map((f) => findingLine('unanswered-client', f)),
      ...complete.missingRemoteParents.map((f) => findingLine('missing-remote-parent', f)),
    ];
    const head = [
      `# insights of trace ${traceId} (${spans.length} spans${readRestricted ? '; your token reads only some services: spans of the others look missing' : ''}): ${found.length} insight(s); completeness: ${complete.complete ? 'complete' : `${findings.length} finding(s)`}`,
    ];
    const lines = [
      ...(found.length === 0 ? ['# no insight rule matched'] : found.flatMap(insightLines)),
      ...(findings.length === 0 ? [] : ['# completeness findings: kind reason #span service "name": explanation', ...findings]),
    ];
    return pagedAnswer(NAME, BUDGET_TOKENS, head, lines, offset, { trace: traceId });
  },
});

function insightLines(insight: Insight): string[] {
  const ids = insight.spanIds.slice(0, SPAN_IDS_SHOWN).map((id) => `#${id}`);
  const more = insight.spanCount > ids.length ? ` (+${insight.spanCount - ids.length} more)` : '';
  const evidence = Object.entries(insight.evidence).map(([k, v]) => `${k}=${valueText(typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v)}`);
  return [
    `${insight.rule} impact=${formatDuration(insight.impactNs)} spans=${insight.spanCount}${insight.parentSpanId ? ` parent=#${insight.parentSpanId}` : ''}: ${insight.summary}`,
    `  spans: ${ids.join(' ')}${more}`,
    ...(evidence.length ? [`  evidence: ${evidence.join(' ')}`] : []),
  ];
}

function findingLine(kind: string, f: CompletenessFinding): string {
  const joined = f.joinedTraceId ? ` (joined: trace ${f.joinedTraceId}${f.joinedSpanId ? ` #${f.joinedSpanId}` : ''})` : '';
  return `${kind} ${f.reason} #${f.spanId} ${word(f.serviceName)} ${JSON.stringify(f.name)}: ${f.explanation}${joined}`;
}
