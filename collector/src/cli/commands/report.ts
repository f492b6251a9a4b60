import { readFileSync, writeFileSync } from 'node:fs';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import type { AssertAnswer } from '../../query/assert/spec.js';
import type { SearchAnswer } from '../../query/search/search.js';
import type { SkeletonResponse } from '../../query/skeleton-routes.js';
import type { TraceSummary } from '../../query/trace-store.js';
import { scopeQuery } from './assert-spec.js';
import { renderReportHtml, WATERFALL_MAX_ROWS, type WaterfallSpan } from './report-html.js';
import { windowParameter } from './search.js';

const USAGE = `Usage: flowtrace report --html FILE [options]

Writes a test run as one self-contained HTML file (no script, no external URL): traces by
service, traces with errors, the slowest traces with a small waterfall, and the results of
flowtrace assert when given. For CI artefacts.

Options:
  --html FILE            where to write the report
  --since WHEN           window: 30m, 1h, 7d or an ISO-8601 time (default 1h)
  --run-id ID            only traces with a span whose resource has ci.run.id = ID
  --run-attribute KEY    the resource attribute --run-id compares (default ci.run.id)
  --correlation-id ID    only traces with a span carrying flowtrace.correlation_id = ID
  --scope QUERY          only traces matching QUERY (search language)
  --assertions FILE      the results of flowtrace assert --json-file FILE, shown first
  --dashboard-url URL    link trace IDs to this dashboard (http or https), e.g. http://127.0.0.1:8686
  --slowest N            slowest traces drawn, 0 to 20 (default 5)
  --title TEXT           the page title (default "FlowTrace test run")
${CONNECTION_HELP}
  -h, --help             show this help

Exit codes: 0 written; 2 bad input; 3 the collector could not be reached or refused the token.
`;

/** Traces read for the report, newest first (pages of 1000). */
const MAX_TRACES = 5000;

export const reportCommand: Command = {
  path: ['report'],
  summary: 'a test run as a self-contained HTML report (--html FILE), for CI artefacts',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      html: { type: 'string' },
      since: { type: 'string', default: '1h' },
      'run-id': { type: 'string' },
      'run-attribute': { type: 'string' },
      'correlation-id': { type: 'string' },
      scope: { type: 'string' },
      assertions: { type: 'string' },
      'dashboard-url': { type: 'string' },
      slowest: { type: 'string', default: '5' },
      title: { type: 'string', default: 'FlowTrace test run' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (values.html === undefined) throw new UsageError('--html FILE is required');
    const slowestCount = /^\d{1,2}$/.test(values.slowest) ? Number(values.slowest) : NaN;
    if (!(slowestCount >= 0 && slowestCount <= 20)) throw new UsageError(`--slowest: expected a whole number from 0 to 20, got '${values.slowest}'`);
    const dashboardUrl = values['dashboard-url'] === undefined ? undefined : checkDashboardUrl(values['dashboard-url']);
    if (values.title.length > 200) throw new UsageError('--title: at most 200 characters');
    const assertions = values.assertions === undefined ? undefined : readAssertions(values.assertions);
    const scope = scopeQuery(values);
    const window = windowParameter(values.since);

    const base = apiUrl(values.api, io.env);
    const token = apiCredential(values['token-file'], io.env);
    const end = new Date();
    let traces: TraceSummary[];
    let truncated: boolean;
    const slowest: Array<{ trace: TraceSummary; spans: WaterfallSpan[]; omittedSpans: number }> = [];
    try {
      ({ traces, truncated } = await readTraces(base, token, scope, { ...window, end: end.toISOString() }));
      const bySlowness = [...traces].sort((a, b) => Number(BigInt(b.durationNano) - BigInt(a.durationNano))).slice(0, slowestCount);
      for (const trace of bySlowness) {
        const skeleton = await callApi<SkeletonResponse>(base, `/api/traces/${trace.traceId}/skeleton`, { token });
        const rows = skeletonRows(skeleton);
        slowest.push({ trace, spans: rows.slice(0, WATERFALL_MAX_ROWS), omittedSpans: Math.max(0, rows.length - WATERFALL_MAX_ROWS) });
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace report: ${err.message}\n`);
      return err.status === 400 ? 2 : 3;
    }
    const start = 'start' in window ? new Date(window.start) : new Date(end.getTime() - lookbackMs(window.lookback));
    const html = renderReportHtml({ title: values.title, generatedAt: new Date(), window: { start, end }, scope, traces, truncated, slowest, assertions, dashboardUrl });
    try {
      writeFileSync(values.html, html);
    } catch (err) {
      throw new UsageError(`--html: cannot write ${values.html}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    io.stdout.write(`wrote ${values.html}: ${traces.length}${truncated ? '+' : ''} traces, ${traces.filter((t) => t.errorCount > 0).length} with errors\n`);
    return 0;
  },
};

/** Every trace of the scope in the window (newest first), through the search route's pages. */
async function readTraces(base: string, token: string | undefined, scope: string | undefined, window: Record<string, string>): Promise<{ traces: TraceSummary[]; truncated: boolean }> {
  const traces: TraceSummary[] = [];
  // Without a scope, a trace-level condition every trace meets.
  const q = scope ?? 'trace.spans > 0';
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams({ q, limit: '1000', ...window, ...(cursor ? { cursor } : {}) });
    const page = await callApi<SearchAnswer>(base, `/api/search?${params}`, { token });
    traces.push(...page.traces);
    cursor = page.nextCursor;
  } while (cursor !== undefined && traces.length < MAX_TRACES);
  return { traces, truncated: cursor !== undefined };
}

/** A skeleton's spans in tree order (children by start) with their depth, for a waterfall. */
export function skeletonRows(s: SkeletonResponse): WaterfallSpan[] {
  const children = new Map<number, number[]>();
  const roots: number[] = [];
  s.parent.forEach((p, i) => {
    if (p >= 0) children.set(p, [...(children.get(p) ?? []), i]);
    else roots.push(i);
  });
  const out: WaterfallSpan[] = [];
  // Iterative depth-first walk: a deep trace must not overflow the stack.
  const stack: Array<[number, number]> = roots.reverse().map((i) => [i, 0]);
  while (stack.length > 0) {
    const [i, depth] = stack.pop()!;
    out.push({
      depth,
      service: s.services[s.service[i]!] ?? '',
      name: s.names[s.name[i]!] ?? '',
      startNs: s.start[i]! * s.unitNs,
      durationNs: s.duration[i]! * s.unitNs,
      error: s.statuses[s.status[i]!] === 'Error',
    });
    for (const c of [...(children.get(i) ?? [])].reverse()) stack.push([c, depth + 1]);
  }
  return out;
}

function checkDashboardUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--dashboard-url: expected an http or https URL, got '${text.slice(0, 64)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--dashboard-url: expected an http or https URL');
  if (url.username || url.password) throw new UsageError('--dashboard-url: no credentials in the URL (the report is an artefact others read)');
  return url.toString().replace(/\/+$/, '');
}

function readAssertions(path: string): AssertAnswer {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--assertions: cannot read ${path} as JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  if (!isAssertAnswer(value)) throw new UsageError(`--assertions: ${path} is not the output of flowtrace assert --json-file`);
  return value;
}

/** Every field the report renders has the type it is rendered as (a file is input: a wrong one is exit 2, never a crash). */
export function isAssertAnswer(value: unknown): value is AssertAnswer {
  const a = value as Partial<AssertAnswer> | null;
  if (typeof a !== 'object' || a === null || !Array.isArray(a.results) || typeof a.scope !== 'object' || a.scope === null || typeof a.window !== 'object' || a.window === null) return false;
  const optional = (v: unknown, type: 'string' | 'number') => v === undefined || typeof v === type;
  return a.results.every(
    (r: Partial<AssertAnswer['results'][number]> | null) =>
      typeof r === 'object' &&
      r !== null &&
      [r.name, r.select, r.expectation, r.observed].every((t) => typeof t === 'string') &&
      typeof r.passed === 'boolean' &&
      Array.isArray(r.evidence) &&
      r.evidence.every(
        (e) =>
          typeof e === 'object' &&
          e !== null &&
          typeof e.traceId === 'string' &&
          optional(e.root, 'string') &&
          optional(e.detail, 'string') &&
          optional(e.errorCount, 'number') &&
          (e.durationNano === undefined || (typeof e.durationNano === 'string' && /^\d{1,20}$/.test(e.durationNano))),
      ),
  );
}

function lookbackMs(lookback: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of lookback.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}
