/**
 * Trace-based assertions: what `POST /api/assert` takes and answers, and the one check of a
 * request's shape, shared by the route and `flowtrace assert` (which checks before it sends, so a
 * malformed file is exit 2 without a round trip). Queries stay text here: only the search
 * grammar (../search/parse.ts) parses them, on the collector.
 */
import type { InsightRule } from '../../analysis/insights.js';
import type { TraceSummary } from '../trace-store.js';

export const ASSERT_LIMITS = {
  assertions: 100,
  nameLength: 256,
  /** The search grammar's own limit (SEARCH_LIMITS.maxQueryLength). */
  queryLength: 4096,
  /** Traces named as evidence per assertion. */
  evidence: 10,
  /** Traces whose insights one `noInsight` assertion computes (each read and analysed in full). */
  insightTraces: 50,
  /** `noInsight` assertions per request: each may read insightTraces × 10,000 spans on the event loop. */
  insightAssertions: 5,
  /** Engine time one request may use in all (its queries run one after another, each also under SEARCH_SETTINGS' own limit). */
  budgetSeconds: 60,
} as const;

export const COUNT_OPERATORS = ['=', '!=', '>', '>=', '<', '<='] as const;
export type CountOperator = (typeof COUNT_OPERATORS)[number];
export const DURATION_STATS = ['p50', 'p95', 'p99', 'max'] as const;
export type DurationStat = (typeof DURATION_STATS)[number];
export const INSIGHT_RULES: readonly InsightRule[] = ['n-plus-one', 'sequential-calls', 'error-origin', 'retries', 'slow-method'];

export type Expectation =
  /** No trace matches the selector. */
  | { kind: 'none' }
  /** The number of matching traces compares with `value`. */
  | { kind: 'count'; op: CountOperator; value: number }
  /** Every matching trace (at least one) also matches `query`. */
  | { kind: 'every'; query: string }
  /** The stat of the selector's spans' durations is below (`<`) or at most (`<=`) the bound. */
  | { kind: 'duration'; stat: DurationStat; op: '<' | '<='; boundNano: string }
  /** No matching trace has an insight of this rule (analysis/insights.ts). */
  | { kind: 'noInsight'; rule: InsightRule };

export interface AssertionSpec {
  name: string;
  /** A query in the search grammar: the traces (or, for durations, the spans) the assertion is about. */
  select: string;
  expect: Expectation;
}

export interface AssertRequest {
  assertions: AssertionSpec[];
  /** A query in the search grammar every trace must match as well: the test run (`resource.ci.run.id = "…"`). */
  scope?: string;
  /** Window as the read routes take it: µs since the epoch or ISO-8601; lookback like `15m`. */
  start?: string;
  end?: string;
  lookback?: string;
  /** Only check the queries and count the scope (`results` empty): what a client polls while spans arrive. */
  countOnly?: boolean;
}

/** A trace named as evidence, with what about it broke the expectation. */
export interface TraceEvidence {
  traceId: string;
  /** `service: span name` of the root span, when the evidence is a whole trace. */
  root?: string;
  durationNano?: string;
  errorCount?: number;
  /** The span or insight that broke the expectation. */
  detail?: string;
}

/** A search's trace summary as evidence. */
export function traceEvidence(t: TraceSummary, detail?: string): TraceEvidence {
  return { traceId: t.traceId, root: `${t.rootServiceName}: ${t.rootSpanName}`, durationNano: t.durationNano, errorCount: t.errorCount, ...(detail === undefined ? {} : { detail }) };
}

export interface AssertionResult {
  name: string;
  select: string;
  /** The expectation in words: `no trace matches`, `p99 < 50ms`. */
  expectation: string;
  passed: boolean;
  /** What was measured, in words: `3 traces match`, `p99 = 72.4ms over 120 spans`. */
  observed: string;
  /** Traces matching the selector (and the scope). */
  matchedTraces: number;
  /** The traces behind a failure (or, for a pass, none), at most ASSERT_LIMITS.evidence. */
  evidence: TraceEvidence[];
}

export interface AssertAnswer {
  results: AssertionResult[];
  /** Traces (and their spans) in the window that match the scope: what a waiting client watches settle. */
  scope: { traces: number; spans: number };
  window: { startUnixNano: string; endUnixNano: string };
}

/** A request that is not what the schema says, naming the field (`assertions[2].expect.op`). */
export class AssertSpecError extends Error {
  override name = 'AssertSpecError';
}

/** Checks an untrusted value is an AssertRequest; throws AssertSpecError naming the first problem. */
export function checkAssertRequest(value: unknown): AssertRequest {
  const body = object(value, 'body');
  only(body, 'body', ['assertions', 'scope', 'start', 'end', 'lookback', 'countOnly']);
  if (!Array.isArray(body.assertions)) throw new AssertSpecError('assertions: expected a list of assertions');
  if (body.assertions.length === 0) throw new AssertSpecError('assertions: expected at least one assertion');
  if (body.assertions.length > ASSERT_LIMITS.assertions) throw new AssertSpecError(`assertions: at most ${ASSERT_LIMITS.assertions}, got ${body.assertions.length}`);
  const assertions = body.assertions.map((a: unknown, i: number) => checkAssertion(a, `assertions[${i}]`));
  const insights = assertions.filter((a) => a.expect.kind === 'noInsight').length;
  if (insights > ASSERT_LIMITS.insightAssertions) throw new AssertSpecError(`assertions: at most ${ASSERT_LIMITS.insightAssertions} noInsight assertions per request (each analyses up to ${ASSERT_LIMITS.insightTraces} traces), got ${insights}`);
  const names = new Set<string>();
  assertions.forEach((a, i) => {
    if (names.has(a.name)) throw new AssertSpecError(`assertions[${i}].name: ${JSON.stringify(a.name)} is used twice (names identify test cases)`);
    names.add(a.name);
  });
  const request: AssertRequest = { assertions };
  for (const key of ['scope', 'start', 'end', 'lookback'] as const) {
    if (body[key] !== undefined) request[key] = text(body[key], key, key === 'scope' ? ASSERT_LIMITS.queryLength : 64);
  }
  if (body.countOnly !== undefined) {
    if (typeof body.countOnly !== 'boolean') throw new AssertSpecError('countOnly: expected true or false');
    request.countOnly = body.countOnly;
  }
  return request;
}

function checkAssertion(value: unknown, at: string): AssertionSpec {
  const a = object(value, at);
  only(a, at, ['name', 'select', 'expect']);
  return { name: text(a.name, `${at}.name`, ASSERT_LIMITS.nameLength), select: text(a.select, `${at}.select`, ASSERT_LIMITS.queryLength), expect: checkExpectation(a.expect, `${at}.expect`) };
}

function checkExpectation(value: unknown, at: string): Expectation {
  const e = object(value, at);
  switch (e.kind) {
    case 'none':
      only(e, at, ['kind']);
      return { kind: 'none' };
    case 'count': {
      only(e, at, ['kind', 'op', 'value']);
      const op = oneOf(e.op, `${at}.op`, COUNT_OPERATORS);
      if (typeof e.value !== 'number' || !Number.isSafeInteger(e.value) || e.value < 0) throw new AssertSpecError(`${at}.value: expected a whole number of traces, 0 or more`);
      return { kind: 'count', op, value: e.value };
    }
    case 'every':
      only(e, at, ['kind', 'query']);
      return { kind: 'every', query: text(e.query, `${at}.query`, ASSERT_LIMITS.queryLength) };
    case 'duration': {
      only(e, at, ['kind', 'stat', 'op', 'boundNano']);
      const stat = oneOf(e.stat, `${at}.stat`, DURATION_STATS);
      const op = oneOf(e.op, `${at}.op`, ['<', '<='] as const);
      if (typeof e.boundNano !== 'string' || !/^\d{1,19}$/.test(e.boundNano)) throw new AssertSpecError(`${at}.boundNano: expected nanoseconds as a decimal string`);
      return { kind: 'duration', stat, op, boundNano: e.boundNano };
    }
    case 'noInsight':
      only(e, at, ['kind', 'rule']);
      return { kind: 'noInsight', rule: oneOf(e.rule, `${at}.rule`, INSIGHT_RULES) };
    default:
      throw new AssertSpecError(`${at}.kind: expected one of none, count, every, duration, noInsight`);
  }
}

/** The expectation in words, as reports print it. */
export function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'none':
      return 'no trace matches';
    case 'count':
      return `matching traces ${e.op} ${e.value}`;
    case 'every':
      return `every matching trace matches ${e.query}`;
    case 'duration':
      return `${e.stat} ${e.op} ${formatNanos(BigInt(e.boundNano))}`;
    case 'noInsight':
      return `no ${e.rule} insight`;
  }
}

/** A duration for people: `850µs`, `72.4ms`, `1.25s`. */
export function formatNanos(ns: bigint): string {
  const n = Number(ns);
  if (n < 1_000) return `${n}ns`;
  if (n < 1_000_000) return `${trim(n / 1_000)}µs`;
  if (n < 1_000_000_000) return `${trim(n / 1_000_000)}ms`;
  return `${trim(n / 1_000_000_000)}s`;
}

function trim(x: number): string {
  return String(Number(x.toPrecision(3)));
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AssertSpecError(`${at}: expected an object`);
  return value as Record<string, unknown>;
}

function only(value: Record<string, unknown>, at: string, keys: readonly string[]): void {
  const extra = Object.keys(value).find((k) => !keys.includes(k));
  if (extra !== undefined) throw new AssertSpecError(`${at}: unknown field ${JSON.stringify(extra.slice(0, 64))} (expected ${keys.join(', ')})`);
}

function text(value: unknown, at: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw new AssertSpecError(`${at}: expected a non-empty string`);
  if (value.length > max) throw new AssertSpecError(`${at}: at most ${max} characters, got ${value.length}`);
  return value;
}

function oneOf<T extends string>(value: unknown, at: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new AssertSpecError(`${at}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(String(value).slice(0, 64))}`);
}
