import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command, type CommandIO } from '../command.js';
import type { AssertAnswer, AssertRequest } from '../../query/assert/spec.js';
import { parseDuration, QueryParamError } from '../../query/params.js';
import { formatAssertAnswer } from './assert-format.js';
import { junitXml } from './assert-junit.js';
import { assertionsFromFlags, checkRequest, readAssertFile, scopeQuery, type AssertFile } from './assert-spec.js';
import { caretUnder, windowParameter } from './search.js';
import { paintFor } from './terminal.js';

const USAGE = `Usage: flowtrace assert [options] [--file flowtrace-assert.yaml] [ASSERTION FLAGS…]

Trace-based assertions for integration tests, evaluated by the collector (POST /api/assert) over
the traces of a window — and of a test run with --run-id / --correlation-id / --scope. Selectors
are queries in the search language (flowtrace search; collector/src/query/search/README.md).

Assertions (each flag can be repeated; the file's come first):
  --none QUERY                no trace matches QUERY
  --some QUERY                at least one trace matches QUERY
  --count 'OP N:QUERY'        the number of matching traces, e.g. '>=3:{ name = "GET /orders" }'
  --p50|--p95|--p99|--max 'BOUND:QUERY'
                              the exact quantile (or max) of the durations of QUERY's spans (one
                              span set { … }) is below BOUND ('50ms' or '<=50ms')
  --no-insight 'RULE:QUERY'   no matching trace has the insight RULE: n_plus_one, sequential_calls,
                              error_origin, retries, slow_method
  --file FILE                 assertions in YAML: a list of {name, select, expect} where expect is
                              none | some | {count: ">= 3"} | {every: QUERY} | {p99: "< 50ms"} |
                              {no_insight: n_plus_one}; optional scope: and since: keys

Which traces:
  --since WHEN                window: 30m, 1h, 7d or an ISO-8601 time (default 1h, or the file's since:)
  --run-id ID                 only traces with a span whose resource has ci.run.id = ID
  --run-attribute KEY         the resource attribute --run-id compares (default ci.run.id)
  --correlation-id ID         only traces with a span carrying flowtrace.correlation_id = ID
  --scope QUERY               only traces matching QUERY (any query of the search language)

Waiting for late spans:
  --timeout D                 poll until the scope's span count has not changed for --settle, at
                              most D (e.g. 30s); default 0: evaluate once
  --settle D                  how long the span count must stay the same (default 2s)

Output:
  --junit FILE                write a JUnit XML report (one testcase per assertion)
  --json                      print the collector's answer as JSON instead of text
  --json-file FILE            also write that JSON to FILE (flowtrace report --assertions reads it)
${CONNECTION_HELP}
  -h, --help                  show this help

Exit codes: 0 every assertion passed; 1 an assertion failed; 2 bad input (a flag, the file, or a
query the grammar refuses: the message names the assertion and the column; or more assertions
than the collector's query budget allows); 3 the collector could
not be reached, refused the token, or failed.
`;

/** How often the collector is asked again while spans settle. */
const POLL_MS = 500;

export const assertCommand: Command = {
  path: ['assert'],
  summary: 'trace-based assertions for CI (exit 1 on a failure; --junit FILE)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      file: { type: 'string', short: 'f' },
      none: { type: 'string', multiple: true },
      some: { type: 'string', multiple: true },
      count: { type: 'string', multiple: true },
      p50: { type: 'string', multiple: true },
      p95: { type: 'string', multiple: true },
      p99: { type: 'string', multiple: true },
      max: { type: 'string', multiple: true },
      'no-insight': { type: 'string', multiple: true },
      since: { type: 'string' },
      'run-id': { type: 'string' },
      'run-attribute': { type: 'string' },
      'correlation-id': { type: 'string' },
      scope: { type: 'string' },
      timeout: { type: 'string', default: '0s' },
      settle: { type: 'string', default: '2s' },
      junit: { type: 'string' },
      json: { type: 'boolean' },
      'json-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}: assertions are given with --none, --p99… or --file`);
    const file: AssertFile = values.file === undefined ? { assertions: [] } : readAssertFile(values.file);
    const flagScope = scopeQuery(values);
    if (flagScope !== undefined && file.scope !== undefined) throw new UsageError(`the scope is given twice: in ${values.file} (scope:) and by a flag`);
    const scope = flagScope ?? file.scope;
    const assertions = [...file.assertions, ...assertionsFromFlags(values)];
    if (assertions.length === 0) throw new UsageError('no assertion: give --file or an assertion flag (--none, --some, --count, --p99…)');
    const request: AssertRequest = checkRequest({ assertions, ...(scope === undefined ? {} : { scope }), ...windowParameter(values.since ?? file.since ?? '1h') });
    const timeoutMs = durationMs('--timeout', values.timeout);
    const settleMs = durationMs('--settle', values.settle);

    const base = apiUrl(values.api, io.env);
    const token = apiCredential(values['token-file'], io.env);
    const started = Date.now();
    let outcome: { answer: AssertAnswer; note: string };
    try {
      const ask = (countOnly: boolean) => callApi<AssertAnswer>(base, '/api/assert', { method: 'POST', body: countOnly ? { ...request, countOnly } : request, token });
      outcome = await evaluateUntilSettled(() => ask(false), () => ask(true), timeoutMs, settleMs);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return reportApiError(err, request, io);
    }
    const { answer, note } = outcome;
    const seconds = (Date.now() - started) / 1000;
    if (values.junit !== undefined) writeOut('--junit', values.junit, junitXml({ answer, finishedAt: new Date(), seconds, scope, hostname: hostname() }));
    const json = JSON.stringify(answer, null, 2) + '\n';
    if (values['json-file'] !== undefined) writeOut('--json-file', values['json-file'], json);
    io.stdout.write(values.json ? json : formatAssertAnswer(answer, paintFor(io), note));
    if (values.json && note) io.stderr.write(`flowtrace assert: ${note}\n`);
    return answer.results.every((r) => r.passed) ? 0 : 1;
  },
};

/**
 * Waits until the span count of the scope has stayed the same for `settleMs` (spans of the run
 * may still be in the exporters' batches or the collector's pipeline), at most `timeoutMs`,
 * asking only for the count (`countOnly`, which also checks every query, so a typo fails at
 * once); then evaluates the assertions once. With no timeout, evaluates at once.
 */
export async function evaluateUntilSettled(
  evaluate: () => Promise<AssertAnswer>,
  countScope: () => Promise<AssertAnswer>,
  timeoutMs: number,
  settleMs: number,
  clock: { now(): number; wait(ms: number): Promise<unknown> } = { now: Date.now, wait: delay },
): Promise<{ answer: AssertAnswer; note: string }> {
  if (timeoutMs === 0) return { answer: await evaluate(), note: '' };
  const start = clock.now();
  let spans = (await countScope()).scope.spans;
  let stableSince = clock.now();
  for (;;) {
    const t = clock.now();
    if (spans > 0 && t - stableSince >= settleMs) return { answer: await evaluate(), note: `span count settled after ${((t - start) / 1000).toFixed(1)}s` };
    if (t - start >= timeoutMs) {
      const note = spans === 0 ? `no span in scope after ${timeoutMs / 1000}s (--timeout)` : `still changing after ${timeoutMs / 1000}s (--timeout): evaluated what had arrived`;
      return { answer: await evaluate(), note };
    }
    await clock.wait(Math.max(1, Math.min(POLL_MS, timeoutMs - (t - start))));
    const now = (await countScope()).scope.spans;
    if (now !== spans) {
      spans = now;
      stableSince = clock.now();
    }
  }
}

/**
 * A 400 is bad input (exit 2, with a caret under a grammar error), and so is a 422 (the request
 * needs more than the collector's query budget: fewer assertions or a narrower window will do);
 * anything else is the collector (exit 3).
 */
function reportApiError(err: ApiError, request: AssertRequest, io: CommandIO): number {
  if (err.status === 422) {
    io.stderr.write(`flowtrace assert: ${err.message}\n`);
    return 2;
  }
  if (err.status !== 400) {
    io.stderr.write(`flowtrace assert: ${err.message}\n`);
    return 3;
  }
  const body = (err.body ?? {}) as { error?: string; field?: string; column?: number };
  io.stderr.write(`flowtrace assert: ${body.error ?? err.message}\n`);
  const queryText = body.field === undefined ? undefined : queryOf(request, body.field);
  if (queryText !== undefined && typeof body.column === 'number') io.stderr.write(caretUnder(queryText, body.column));
  return 2;
}

function queryOf(request: AssertRequest, field: string): string | undefined {
  if (field === 'scope') return request.scope;
  const m = /^assertions\[(\d+)\]\.(select|expect\.query)$/.exec(field);
  const a = m ? request.assertions[Number(m[1])] : undefined;
  if (!a) return undefined;
  if (m![2] === 'select') return a.select;
  return a.expect.kind === 'every' ? a.expect.query : undefined;
}

function durationMs(flag: string, text: string): number {
  if (text === '0') return 0;
  try {
    const ms = Number(parseDuration(flag, text) / 1_000_000n);
    if (ms > 3_600_000) throw new UsageError(`${flag}: at most 1h`);
    return ms;
  } catch (err) {
    if (err instanceof QueryParamError) throw new UsageError(err.message);
    throw err;
  }
}

function writeOut(flag: string, path: string, content: string): void {
  try {
    writeFileSync(path, content);
  } catch (err) {
    throw new UsageError(`${flag}: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
