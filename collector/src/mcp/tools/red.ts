import { z } from 'zod';
import { SPAN_KIND_NAMES } from '../../../../exporters/clickhouse/index.js';
import { queryRed } from '../../metrics/red/query.js';
import { parseDuration, parseWindow, QueryParamError } from '../../query/params.js';
import { csvRow } from '../format.js';
import { pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'red';
const BUDGET_TOKENS = 2500;
const NS_PER_S = 1_000_000_000n;
const DEFAULT_LOOKBACK_NS = 3_600n * NS_PER_S;
const MAX_WINDOW_S = 31 * 86_400;
const MAX_POINTS = 60;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const MAX_DATETIME_S = 4_294_967_295;

/**
 * Rate, errors and duration quantiles per service, operation and span kind (metrics/red/query.ts,
 * as GET /api/metrics/red): counted before sampling, so they cover every request, not only the
 * stored traces. The window is widened to whole minutes; `step` splits it into at most 60
 * points per series. Reads only the services the caller's token may read; a token limited by
 * environment is refused (RED is not kept per environment). One page: when the rows do not
 * fit, the answer says so and the model filters or lowers `limit`.
 */
export const redTool = defineTool({
  name: NAME,
  title: 'RED metrics',
  description:
    'Step 1 or 3: request rate, error ratio and latency p50/p90/p99 per service, operation (span name) and span kind over a window, counted before sampling (every request, not only stored traces), busiest first. ' +
    'Use it to see which endpoint is slow or failing before picking traces; `step` (e.g. 5m) shows how it moved over time. Filter by service, operation or spanKind. ' +
    'Next: anomalies for what changed, find_traces (service, operation, minDuration) for traces behind a bad row.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    service: z.string().max(1024).optional().describe('only this service'),
    operation: z.string().max(1024).optional().describe('only this operation (span name); `__other__` holds operations beyond the cardinality cap'),
    spanKind: z.enum(SPAN_KIND_NAMES).optional().describe('only this span kind'),
    lookback: z.string().max(32).optional().describe('window length before end (default 1h, at most 744h): 15m, 6h'),
    start: z.string().max(40).optional().describe('window start, ISO-8601 (overrides lookback; rounded down to the minute)'),
    end: z.string().max(40).optional().describe('window end, ISO-8601 (default now; rounded up to the minute)'),
    step: z.string().max(32).optional().describe('split the window into points this long, whole minutes (5m, 1h); at most 60 points; default one point'),
    limit: z.number().int().min(1).max(MAX_LIMIT).optional().describe(`rows listed at most (default ${DEFAULT_LIMIT})`),
  },
  async run(input, ctx) {
    const rules = ctx.principal.rules;
    if (rules.environments?.length) throw new ToolInputError('RED metrics are not kept per environment, so a token limited to some environments cannot read them; ask for a token without environment rules');
    const { startNs, endNs } = parseWindow({ start: input.start, end: input.end, lookback: input.lookback }, DEFAULT_LOOKBACK_NS);
    if (endNs - startNs > BigInt(MAX_WINDOW_S) * NS_PER_S) throw new QueryParamError(`${input.start === undefined && input.lookback !== undefined ? 'lookback' : 'start'}: the window is at most 31 days (744h) wide`);
    const fromS = Number(startNs / NS_PER_S / 60n) * 60;
    const toS = Number((endNs + 60n * NS_PER_S - 1n) / NS_PER_S / 60n) * 60;
    if (toS > MAX_DATETIME_S) throw new QueryParamError('end: must be before 2106 (the stored minutes are 32-bit seconds)');
    const stepS = input.step === undefined || input.step === '' ? undefined : stepSeconds(input.step, toS - fromS);
    const limit = input.limit ?? DEFAULT_LIMIT;
    const points = await queryRed(ctx.deps.reader, ctx.deps.database, {
      fromS,
      toS,
      stepS,
      service: input.service || undefined,
      operation: input.operation || undefined,
      spanKind: input.spanKind,
      services: rules.services?.length ? rules.services : undefined,
      limit: limit + 1,
    });
    const shown = points.slice(0, limit);
    const filters = [input.service && `service=${input.service}`, input.operation && `operation=${input.operation}`, input.spanKind && `spanKind=${input.spanKind}`].filter(Boolean);
    const head = `# RED in ${iso(fromS)} .. ${iso(toS)}${stepS ? ` by ${stepS / 60}m` : ''}${filters.length ? `; ${filters.join(' ')}` : ''}: counted before sampling; quantiles within ~9 %`;
    if (shown.length === 0) {
      return `${head}\n# nothing matched: widen the window (lookback=6h), drop a filter, or check names (exact match; your token may also limit which services you can read)`;
    }
    const columns = ['service', 'operation', 'kind', ...(stepS ? ['start'] : []), 'requests', 'errors', 'rate_per_s', 'error_pct', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms'];
    const rows = shown.map((p) =>
      csvRow([p.service, p.operation, p.spanKind, ...(stepS ? [iso(p.startS)] : []), p.requests, p.errors, round(p.rate), round(p.errorRatio * 100), p.p50Ms, p.p90Ms, p.p99Ms, p.maxMs]),
    );
    const page = pageLines(rows, 0, BUDGET_TOKENS * 4 - head.length - columns.join(',').length - 300);
    const listed = page.next ?? rows.length;
    const tail =
      page.next !== undefined
        ? `# cut: ${rows.length - listed} more row(s) did not fit; filter by service or operation, or lower limit`
        : points.length > limit
          ? `# first ${listed} rows; more exist: filter by service or operation${limit < MAX_LIMIT ? `, or raise limit (at most ${MAX_LIMIT})` : ''}`
          : `# end (${listed} rows)`;
    return [head, columns.join(','), page.text, tail].join('\n');
  },
});

function stepSeconds(text: string, windowS: number): number {
  const ns = parseDuration('step', text);
  if (ns < 60n * NS_PER_S || ns % (60n * NS_PER_S) !== 0n) throw new QueryParamError(`step: must be a whole number of minutes (1m, 5m, 1h…), got ${JSON.stringify(text)}`);
  const stepS = Number(ns / NS_PER_S);
  if (Math.ceil(windowS / stepS) > MAX_POINTS) throw new QueryParamError(`step: at most ${MAX_POINTS} points per series; use a step of at least ${Math.ceil(windowS / MAX_POINTS / 60)}m for this window`);
  return stepS;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
