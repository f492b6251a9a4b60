/**
 * `flowtrace assert`'s input: assertions from a YAML file and from flags, turned into the
 * request `POST /api/assert` takes (query/assert/spec.ts). Queries stay text: the collector's
 * search grammar parses them (a syntax error comes back with its column).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { INSIGHT_RULES, checkAssertRequest, AssertSpecError, COUNT_OPERATORS, DURATION_STATS, type AssertionSpec, type CountOperator, type DurationStat, type Expectation } from '../../query/assert/spec.js';
import { parseDuration, QueryParamError } from '../../query/params.js';
import { UsageError } from '../command.js';

/** The assertion file, at most this big: it is a list of queries, not data. */
const MAX_FILE_BYTES = 1024 * 1024;

export interface AssertFile {
  assertions: AssertionSpec[];
  scope?: string;
  since?: string;
}

/**
 * Reads an assertion file:
 *
 *   scope: resource.ci.run.id = "1234"      # optional; --run-id, --scope… replace it
 *   since: 30m                              # optional; --since replaces it
 *   assertions:
 *     - name: checkout never fails
 *       select: '{ name = "GET /checkout" }'
 *       expect: { every: 'NOT { status = error }' }
 *     - name: OrderService.list is fast
 *       select: '{ name = "OrderService.list" }'
 *       expect: { p99: "< 50ms" }
 */
export function readAssertFile(path: string): AssertFile {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_FILE_BYTES) throw new UsageError(`${path}: larger than ${MAX_FILE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseAssertFile(text, path);
}

export function parseAssertFile(text: string, source: string): AssertFile {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0];
    throw new UsageError(`${source}${at ? `:${at.line}:${at.col}` : ''}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '')}`);
  }
  let root: unknown;
  try {
    // No aliases: a file of queries needs none, and a billion-laughs file then costs nothing.
    root = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message} (aliases are not allowed)`);
  }
  const where = (path: string) => `${source}: ${path}`;
  if (!isObject(root)) throw new UsageError(where('expected a mapping with assertions:'));
  const extra = Object.keys(root).find((k) => !['assertions', 'scope', 'since'].includes(k));
  if (extra !== undefined) throw new UsageError(where(`unknown key ${JSON.stringify(extra)} (expected assertions, scope, since)`));
  if (!Array.isArray(root.assertions)) throw new UsageError(where('assertions: expected a list'));
  const assertions = root.assertions.map((a: unknown, i: number) => {
    const at = `assertions[${i}]`;
    if (!isObject(a)) throw new UsageError(where(`${at}: expected a mapping with name, select and expect`));
    const bad = Object.keys(a).find((k) => !['name', 'select', 'expect'].includes(k));
    if (bad !== undefined) throw new UsageError(where(`${at}: unknown key ${JSON.stringify(bad)} (expected name, select, expect)`));
    if (typeof a.select !== 'string') throw new UsageError(where(`${at}.select: expected a query in the search grammar`));
    const name = typeof a.name === 'string' ? a.name : undefined;
    try {
      const expect = expectationOf(a.expect);
      return { name: name ?? `${describeFlag(expect)}: ${a.select}`, select: a.select, expect };
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(where(`${at}.expect: ${err.message}`));
      throw err;
    }
  });
  const file: AssertFile = { assertions };
  for (const key of ['scope', 'since'] as const) {
    const value = root[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new UsageError(where(`${key}: expected a string`));
    file[key] = value;
  }
  return file;
}

/**
 * One YAML `expect:`: `none`, `some`, `{count: ">= 3"}` (or a number: exactly), `{every: QUERY}`,
 * `{p50|p95|p99|max: "< 50ms"}` (`<=` too; a bare duration means `<`), `{no_insight: n_plus_one}`.
 */
export function expectationOf(value: unknown): Expectation {
  if (value === 'none') return { kind: 'none' };
  if (value === 'some') return { kind: 'count', op: '>=', value: 1 };
  if (!isObject(value) || Object.keys(value).length !== 1) {
    throw new UsageError('expected none, some, or one of {count: ">= N"}, {every: QUERY}, {p50|p95|p99|max: "< DURATION"}, {no_insight: RULE}');
  }
  const [key, arg] = Object.entries(value)[0]!;
  if (key === 'count') return countOf(typeof arg === 'number' ? String(arg) : arg);
  if (key === 'every') {
    if (typeof arg !== 'string') throw new UsageError('every: expected a query in the search grammar');
    return { kind: 'every', query: arg };
  }
  if ((DURATION_STATS as readonly string[]).includes(key)) return durationOf(key as DurationStat, arg);
  if (key === 'no_insight' || key === 'noInsight') return insightOf(arg);
  throw new UsageError(`unknown expectation ${JSON.stringify(key)} (expected count, every, ${DURATION_STATS.join(', ')}, no_insight)`);
}

function countOf(arg: unknown): Expectation {
  const m = typeof arg === 'string' ? /^\s*(>=|<=|!=|=|==|>|<)?\s*(\d{1,9})\s*$/.exec(arg) : null;
  if (!m) throw new UsageError(`count: expected a comparison such as ">= 3" or a number, got ${JSON.stringify(arg)}`);
  const op = (m[1] === '==' ? '=' : (m[1] ?? '=')) as CountOperator;
  if (!COUNT_OPERATORS.includes(op)) throw new UsageError(`count: unknown operator ${m[1]}`);
  return { kind: 'count', op, value: Number(m[2]) };
}

function durationOf(stat: DurationStat, arg: unknown): Expectation {
  const m = typeof arg === 'string' ? /^\s*(<=|<)?\s*(\S+)\s*$/.exec(arg) : null;
  if (!m) throw new UsageError(`${stat}: expected a bound such as "< 50ms", got ${JSON.stringify(arg)}`);
  try {
    const ns = parseDuration(stat, m[2]);
    return { kind: 'duration', stat, op: m[1] === '<=' ? '<=' : '<', boundNano: ns.toString() };
  } catch (err) {
    if (err instanceof QueryParamError) throw new UsageError(err.message);
    throw err;
  }
}

function insightOf(arg: unknown): Expectation {
  const rule = typeof arg === 'string' ? arg.replaceAll('_', '-') : '';
  const found = INSIGHT_RULES.find((r) => r === rule);
  if (!found) throw new UsageError(`no_insight: expected one of ${INSIGHT_RULES.map((r) => r.replaceAll('-', '_')).join(', ')}, got ${JSON.stringify(arg)}`);
  return { kind: 'noInsight', rule: found };
}

/** Assertion flags: each takes `[ARG:]QUERY`, the part before the first colon being the bound. */
export interface AssertFlags {
  none?: string[];
  some?: string[];
  count?: string[];
  p50?: string[];
  p95?: string[];
  p99?: string[];
  max?: string[];
  'no-insight'?: string[];
}

export function assertionsFromFlags(flags: AssertFlags): AssertionSpec[] {
  const out: AssertionSpec[] = [];
  const add = (flag: string, query: string, expect: Expectation) => {
    if (query.trim() === '') throw new UsageError(`--${flag}: expected a query`);
    out.push({ name: `${describeFlag(expect)}: ${query}`, select: query, expect });
  };
  for (const q of flags.none ?? []) add('none', q, { kind: 'none' });
  for (const q of flags.some ?? []) add('some', q, { kind: 'count', op: '>=', value: 1 });
  for (const arg of flags.count ?? []) {
    const [bound, query] = splitBound('count', arg, '>=3');
    add('count', query, countOf(bound));
  }
  for (const stat of DURATION_STATS) {
    for (const arg of flags[stat] ?? []) {
      const [bound, query] = splitBound(stat, arg, '50ms');
      add(stat, query, durationOf(stat, bound));
    }
  }
  for (const arg of flags['no-insight'] ?? []) {
    const [rule, query] = splitBound('no-insight', arg, 'n_plus_one');
    add('no-insight', query, insightOf(rule));
  }
  return out;
}

function splitBound(flag: string, arg: string, example: string): [string, string] {
  const colon = arg.indexOf(':');
  if (colon < 0) throw new UsageError(`--${flag}: expected ${example}:QUERY, got ${JSON.stringify(arg.slice(0, 64))}`);
  return [arg.slice(0, colon), arg.slice(colon + 1)];
}

/** The expectation as a flag would write it: names the assertions given without a name. */
function describeFlag(e: Expectation): string {
  switch (e.kind) {
    case 'none':
      return 'none';
    case 'count':
      return e.op === '>=' && e.value === 1 ? 'some' : `count ${e.op} ${e.value}`;
    case 'every':
      return `every ${e.query}`;
    case 'duration':
      return `${e.stat} ${e.op} ${e.boundNano}ns`;
    case 'noInsight':
      return `no ${e.rule}`;
  }
}

/** The scope as a query: a run ID (resource attribute), a correlation ID, or a query as it is. */
export function scopeQuery(flags: { scope?: string; 'run-id'?: string; 'run-attribute'?: string; 'correlation-id'?: string }): string | undefined {
  const given = [flags.scope, flags['run-id'], flags['correlation-id']].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('give one of --scope, --run-id and --correlation-id');
  if (flags['run-attribute'] !== undefined && flags['run-id'] === undefined) throw new UsageError('--run-attribute goes with --run-id');
  if (flags.scope !== undefined) return flags.scope;
  if (flags['run-id'] !== undefined) {
    const key = flags['run-attribute'] ?? 'ci.run.id';
    if (!/^[A-Za-z_][A-Za-z0-9_.]{0,255}$/.test(key)) throw new UsageError(`--run-attribute: expected an attribute key such as ci.run.id, got ${JSON.stringify(key.slice(0, 64))}`);
    return `resource.${key} = ${quoted('--run-id', flags['run-id'])}`;
  }
  if (flags['correlation-id'] !== undefined) return `span.flowtrace.correlation_id = ${quoted('--correlation-id', flags['correlation-id'])}`;
  return undefined;
}

/** A value as a string literal of the search grammar (its escapes: \\ and \"). */
function quoted(flag: string, value: string): string {
  if (value === '' || value.length > 256 || /[\u0000-\u001f]/.test(value)) throw new UsageError(`${flag}: expected 1 to 256 printable characters`);
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** The request, checked as the collector will check it (exit 2 here instead of a 400 there). */
export function checkRequest(value: unknown): ReturnType<typeof checkAssertRequest> {
  try {
    return checkAssertRequest(value);
  } catch (err) {
    if (err instanceof AssertSpecError) throw new UsageError(err.message);
    throw err;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
