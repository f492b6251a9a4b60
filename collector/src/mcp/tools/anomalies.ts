import { z } from 'zod';
import { DEFAULT_ANOMALY_OPTIONS } from '../../analysis/anomalies.js';
import { anomaliesInScope, parseAnomalyRequest } from '../../query/anomalies-routes.js';
import { csvRow } from '../format.js';
import { pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'anomalies';
const BUDGET_TOKENS = 2500;

/**
 * Operations whose latency p99 or error rate rose far above their own baseline, with the
 * evidence (query/anomalies-routes.ts through anomaliesInScope, as GET /api/anomalies): RED
 * series of the services the caller may read, example traces through its filtered view of the
 * span table. One page, highest score first; the knobs are the route's, same bounds.
 */
export const anomaliesTool = defineTool({
  name: NAME,
  title: 'Anomalies',
  description:
    'Step 1: what changed? Operations whose latency p99 or error rate in a recent window rose far above their own baseline (robust z-score: (current − median of the N windows before) / (1.4826 × MAD) ≥ threshold), from RED counted before sampling. ' +
    'Each row: service, operation, span kind, metric, window start, requests, errors, current value, baseline median, score and up to 3 example trace IDs (the slowest, or failing, spans of that window). ' +
    'Next: trace_outline or critical_path on an example trace; red for the operation over time.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    service: z.string().max(1024).optional().describe('only this service'),
    operation: z.string().max(1024).optional().describe('only this operation (span name)'),
    window: z.string().max(32).optional().describe('window length, whole minutes (default 5m, at most 1h)'),
    lookback: z.string().max(32).optional().describe('how far back windows are judged (default one window, at most 24h and 288 windows): 1h'),
    baseline: z.number().int().min(4).max(100).optional().describe(`N windows before each judged one forming its baseline (default ${DEFAULT_ANOMALY_OPTIONS.baselineWindows})`),
    threshold: z.number().min(1).max(100).optional().describe(`score, in scaled MADs, at which a window is anomalous (default ${DEFAULT_ANOMALY_OPTIONS.threshold})`),
    minRequests: z.number().int().min(1).max(1_000_000).optional().describe(`windows with fewer requests are skipped (default ${DEFAULT_ANOMALY_OPTIONS.minRequests})`),
  },
  async run(input, ctx) {
    const rules = ctx.principal.rules;
    if (rules.environments?.length) throw new ToolInputError('RED metrics are not kept per environment, so a token limited to some environments cannot read anomalies; ask for a token without environment rules');
    const text = (n: number | undefined) => (n === undefined ? undefined : String(n));
    const request = parseAnomalyRequest({
      service: input.service,
      operation: input.operation,
      window: input.window,
      lookback: input.lookback,
      baseline: text(input.baseline),
      threshold: text(input.threshold),
      minRequests: text(input.minRequests),
    });
    const answer = await anomaliesInScope(ctx.deps, rules, request);
    const filters = [input.service && `service=${input.service}`, input.operation && `operation=${input.operation}`].filter(Boolean);
    const head =
      `# anomalies judged in ${iso(answer.judgeFromS)} .. ${iso(answer.toS)} by ${answer.windowS / 60}m windows${filters.length ? `; ${filters.join(' ')}` : ''}: ` +
      `${answer.anomalies.length} found (baseline ${request.baselineWindows} windows, threshold ${request.threshold}, minRequests ${request.minRequests}); latency in ms, error rate 0..1`;
    if (answer.anomalies.length === 0) {
      return `${head}\n# none: nothing rose above its baseline. Widen lookback (1h), lower threshold or minRequests, or check names (exact match; your token may also limit which services you can read)`;
    }
    const columns = 'service,operation,kind,metric,window_start,requests,errors,current,baseline_median,score,example_traces';
    const rows = answer.anomalies.map((a) =>
      csvRow([a.service, a.operation, a.spanKind, a.metric, iso(a.startS), a.requests, a.errors, round(a.current), round(a.baseline.median), round(a.score), a.exampleTraceIds.join(' ')]),
    );
    const page = pageLines(rows, 0, BUDGET_TOKENS * 4 - head.length - columns.length - 300);
    const listed = page.next ?? rows.length;
    const tail = page.next !== undefined ? `# cut: ${rows.length - listed} more row(s) did not fit; filter by service or operation, or raise threshold` : `# end (${listed} anomalies)`;
    return [head, columns, page.text, tail].join('\n');
  },
});

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
