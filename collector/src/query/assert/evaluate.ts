/**
 * Evaluates trace-based assertions in ClickHouse through the search grammar's compiler: every
 * query is parsed by ../search/parse.ts and turned into SQL by ../search/compile.ts; counts,
 * quantiles and the evidence are aggregated by the engine over the caller's read-scope table.
 * Only `noInsight` reads traces (at most ASSERT_LIMITS.insightTraces, each within the analysis
 * limit), because the insight rules run in TypeScript (analysis/insights.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { buildTree, insightsOf } from '../../analysis/index.js';
import type { SpanView } from '../span-view.js';
import type { TraceExpr, SpanExpr } from '../search/ast.js';
import { compileSpanDurations, compileTraceCount, DURATION_QUANTILES, type CompiledSearch, type CountBounds } from '../search/compile.js';
import { parseSearch, SearchSyntaxError } from '../search/parse.js';
import { collectRegexes, regexError, runSearchExpr, SEARCH_SETTINGS, type SearchSettings } from '../search/search.js';
import { ASSERT_LIMITS, describeExpectation, formatNanos, type AssertAnswer, type AssertionResult, type AssertionSpec, type AssertRequest, type TraceEvidence, traceEvidence } from './spec.js';

/** A query of the request the grammar (or the engine's regex compiler) refuses: `field` is `assertions[1].select`, `scope`… */
export class AssertQueryError extends Error {
  override name = 'AssertQueryError';
  constructor(
    readonly field: string,
    readonly column: number,
    problem: string,
  ) {
    super(`${field}: at column ${column}: ${problem}`);
  }
}

/** The request's queries together used more than ASSERT_LIMITS.budgetSeconds: 422, naming the way out. */
export class AssertBudgetError extends Error {
  override name = 'AssertBudgetError';
  readonly statusCode = 422;
  constructor() {
    super(`the assertions need more than ${ASSERT_LIMITS.budgetSeconds}s of queries: assert fewer things per request, or narrow the window or the scope`);
  }
}

/**
 * One time budget for all of a request's queries (up to ~3 per assertion, run one after another):
 * each query's engine limit is what is left of it, so one request costs at most budgetSeconds.
 */
class QueryBudget {
  private readonly deadline: number;
  constructor(private readonly now: () => number) {
    this.deadline = now() + ASSERT_LIMITS.budgetSeconds * 1000;
  }
  /** Settings for the next query; throws AssertBudgetError when the budget is spent. */
  settings(): SearchSettings {
    const leftSeconds = Math.ceil((this.deadline - this.now()) / 1000);
    if (leftSeconds <= 0) throw new AssertBudgetError();
    return { ...SEARCH_SETTINGS, max_execution_time: Math.min(SEARCH_SETTINGS.max_execution_time, leftSeconds) };
  }
}

export interface AssertContext {
  client: ClickHouseClient;
  /** The principal's span table or filtered view (read-scope.ts). */
  table: string;
  startNs: bigint;
  endNs: bigint;
  /** Reads one trace for analysis through the same read scope (analysis-routes.ts readAnalysisTrace); throws when it is too large. */
  readTrace(traceId: string): Promise<SpanView[] | undefined>;
  /** Milliseconds clock for the request's budget (tests set it). */
  now?: () => number;
}

/** What the evaluation of one request shares: the context and its time budget. */
interface Run extends AssertContext {
  budget: QueryBudget;
}

/** One query text of the request, parsed, with where it came from (for error columns). */
interface Parsed {
  field: string;
  expr: TraceExpr;
}

export async function evaluateAssertions(request: AssertRequest, context: AssertContext): Promise<AssertAnswer> {
  const ctx: Run = { ...context, budget: new QueryBudget(context.now ?? Date.now) };
  // Every query is parsed before anything runs: a typo in the tenth assertion is a 400, not nine results.
  const scope = request.scope === undefined ? undefined : parse('scope', request.scope);
  const parsed = request.assertions.map((a, i) => ({
    select: parse(`assertions[${i}].select`, a.select),
    every: a.expect.kind === 'every' ? parse(`assertions[${i}].expect.query`, a.expect.query) : undefined,
  }));
  parsed.forEach((p, i) => {
    if (request.assertions[i]!.expect.kind === 'duration') measuredSpans(p.select);
  });
  const bounds: CountBounds = { table: ctx.table, startNs: ctx.startNs, endNs: ctx.endNs };
  const results: AssertionResult[] = [];
  for (const [i, spec] of request.countOnly ? [] : request.assertions.entries()) {
    const p = parsed[i]!;
    const parts = [p.select, ...(p.every ? [p.every] : []), ...(scope ? [scope] : [])];
    try {
      results.push(await evaluateOne(spec, p.select, p.every, scope, bounds, ctx));
    } catch (err) {
      throw locateRegexError(err, parts) ?? err;
    }
  }
  const inScope = await count(ctx, compileTraceCount(scope?.expr, bounds)).catch((err: unknown) => {
    throw (scope && locateRegexError(err, [scope])) ?? err;
  });
  return { results, scope: inScope, window: { startUnixNano: ctx.startNs.toString(), endUnixNano: ctx.endNs.toString() } };
}

async function evaluateOne(spec: AssertionSpec, select: Parsed, every: Parsed | undefined, scope: Parsed | undefined, bounds: CountBounds, ctx: Run): Promise<AssertionResult> {
  const matching = and(scope?.expr, select.expr);
  const base = { name: spec.name, select: spec.select, expectation: describeExpectation(spec.expect) };
  const matched = (await count(ctx, compileTraceCount(matching, bounds))).traces;
  const plural = (n: number) => `${n} trace${n === 1 ? '' : 's'} match${n === 1 ? 'es' : ''}`;
  const e = spec.expect;
  switch (e.kind) {
    case 'none': {
      const passed = matched === 0;
      return { ...base, passed, observed: plural(matched), matchedTraces: matched, evidence: passed ? [] : await newest(ctx, bounds, matching) };
    }
    case 'count': {
      const passed = compare(matched, e.op, e.value);
      return { ...base, passed, observed: plural(matched), matchedTraces: matched, evidence: passed ? [] : await newest(ctx, bounds, matching) };
    }
    case 'every': {
      if (matched === 0) return { ...base, passed: false, observed: 'no trace matches the selector (an assertion about every trace needs at least one)', matchedTraces: 0, evidence: [] };
      const violating = and(matching, { type: 'not', expr: every!.expr });
      const bad = (await count(ctx, compileTraceCount(violating, bounds))).traces;
      return {
        ...base,
        passed: bad === 0,
        observed: `${bad} of ${matched} matching traces do not`,
        matchedTraces: matched,
        evidence: bad === 0 ? [] : await newest(ctx, bounds, violating),
      };
    }
    case 'duration':
      return { ...base, ...(await durationResult(e.stat, e.op, BigInt(e.boundNano), measuredSpans(select), matching, bounds, ctx)), matchedTraces: matched };
    case 'noInsight':
      return { ...base, ...(await insightResult(e.rule, matching, matched, bounds, ctx)), matchedTraces: matched };
  }
}

async function durationResult(
  stat: 'p50' | 'p95' | 'p99' | 'max',
  op: '<' | '<=',
  boundNs: bigint,
  spans: SpanExpr,
  within: TraceExpr,
  bounds: CountBounds,
  ctx: Run,
): Promise<Pick<AssertionResult, 'passed' | 'observed' | 'evidence'>> {
  // Evidence: the spans at or over the bound (over it, for <=), slowest first.
  const compiled = compileSpanDurations(spans, within, bounds, { limit: ASSERT_LIMITS.evidence, minDurationNs: op === '<' ? boundNs : boundNs + 1n });
  const [row] = await rows<{ spans: string; quantiles: string[]; max: string }>(ctx, compiled.stats);
  const n = Number(row?.spans ?? 0);
  if (!row || n === 0) return { passed: false, observed: 'no span matches the selector', evidence: [] };
  const value = stat === 'max' ? BigInt(row.max) : BigInt(Math.round(Number(row.quantiles[DURATION_QUANTILES.indexOf(QUANTILE_OF[stat])]!)));
  const passed = op === '<' ? value < boundNs : value <= boundNs;
  const observed = `${stat} = ${formatNanos(value)} over ${n} span${n === 1 ? '' : 's'}`;
  if (passed) return { passed, observed, evidence: [] };
  const slow = await rows<{ traceId: string; spanId: string; serviceName: string; name: string; durationNano: string }>(ctx, compiled.slowest);
  const evidence = slow.map((s) => ({ traceId: s.traceId, detail: `span ${s.spanId} ${s.serviceName}: ${s.name} took ${formatNanos(BigInt(s.durationNano))}` }));
  return { passed, observed, evidence };
}

const QUANTILE_OF = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;

async function insightResult(
  rule: string,
  matching: TraceExpr,
  matched: number,
  bounds: CountBounds,
  ctx: Run,
): Promise<Pick<AssertionResult, 'passed' | 'observed' | 'evidence'>> {
  if (matched === 0) return { passed: false, observed: 'no trace matches the selector', evidence: [] };
  const { traces } = await runSearchExpr(ctx.client, matching, { ...bounds, limit: ASSERT_LIMITS.insightTraces }, ctx.budget.settings());
  const evidence: TraceEvidence[] = [];
  let unchecked = 0;
  let bad = 0;
  for (const t of traces) {
    let spans: SpanView[] | undefined;
    ctx.budget.settings(); // reading and analysing traces spends the same budget
    try {
      spans = await ctx.readTrace(t.traceId);
    } catch (err) {
      // Over the analysis limit (TraceTooLargeError, 413): said in the result, never a silent pass.
      if ((err as { statusCode?: number }).statusCode !== 413) throw err;
      unchecked++;
      continue;
    }
    const found = spans ? insightsOf(buildTree(spans)).filter((i) => i.rule === rule) : [];
    if (found.length === 0) continue;
    bad++;
    if (evidence.length < ASSERT_LIMITS.evidence) evidence.push(traceEvidence(t, found.map((i) => i.summary).join('; ')));
  }
  const checked = traces.length - unchecked;
  const coverage = checked < matched ? ` (checked the newest ${checked} of ${matched} matching traces${unchecked > 0 ? `; ${unchecked} over the analysis span limit` : ''})` : '';
  return { passed: bad === 0 && unchecked === 0, observed: `${bad} of ${checked} traces have a ${rule} insight${coverage}`, evidence };
}

/** The newest traces matching `expr`, as evidence. */
async function newest(ctx: Run, bounds: CountBounds, expr: TraceExpr): Promise<TraceEvidence[]> {
  const { traces } = await runSearchExpr(ctx.client, expr, { ...bounds, limit: ASSERT_LIMITS.evidence }, ctx.budget.settings());
  return traces.map((t) => traceEvidence(t));
}

/**
 * The spans a duration assertion measures: the selector's one span set `{ … }` (a bare
 * condition is one); other parts joined to it by AND (trace fields, structural pairs) only
 * choose the traces. Anything else is refused at the selector's first column.
 */
function measuredSpans(select: Parsed): SpanExpr {
  const sets: SpanExpr[] = [];
  const walk = (e: TraceExpr): boolean => {
    if (e.type === 'and') return walk(e.left) && walk(e.right);
    if (e.type === 'spans') sets.push(e.where);
    return e.type !== 'or';
  };
  if (!walk(select.expr) || sets.length !== 1) {
    throw new AssertQueryError(select.field, 1, 'a duration assertion measures the spans of one span set: write the selector as { … } (joined by AND to trace conditions if needed)');
  }
  return sets[0]!;
}

function parse(field: string, text: string): Parsed {
  try {
    return { field, expr: parseSearch(text) };
  } catch (err) {
    if (err instanceof SearchSyntaxError) throw new AssertQueryError(field, err.column, err.problem);
    throw err;
  }
}

/** The engine refused a regex: name the query text it came from, at the regex's column. */
function locateRegexError(err: unknown, parts: Parsed[]): AssertQueryError | undefined {
  const message = err instanceof Error ? err.message : '';
  const part = parts.find((p) => collectRegexes(p.expr).some((r) => message.includes(r.value))) ?? parts.find((p) => collectRegexes(p.expr).length > 0);
  const located = part && regexError(err, part.expr);
  return located && part ? new AssertQueryError(part.field, located.column, located.problem) : undefined;
}

function and(left: TraceExpr | undefined, right: TraceExpr): TraceExpr {
  return left === undefined ? right : { type: 'and', left, right };
}

function compare(n: number, op: string, value: number): boolean {
  switch (op) {
    case '=':
      return n === value;
    case '!=':
      return n !== value;
    case '>':
      return n > value;
    case '>=':
      return n >= value;
    case '<':
      return n < value;
    default:
      return n <= value;
  }
}

async function count(run: Run, compiled: CompiledSearch): Promise<{ traces: number; spans: number }> {
  const [row] = await rows<{ traces: string; spans: string }>(run, compiled);
  return { traces: Number(row?.traces ?? 0), spans: Number(row?.spans ?? 0) };
}

async function rows<T>(run: Run, compiled: CompiledSearch): Promise<T[]> {
  return (await run.client.query({ query: compiled.sql, query_params: compiled.params, format: 'JSONEachRow', clickhouse_settings: run.budget.settings() })).json<T>();
}
