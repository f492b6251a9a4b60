import { z } from 'zod';
import { CORRELATION_ATTRIBUTE } from '../../processors/stitch/stitcher.js';
import { parseDuration, parseWindow } from '../../query/params.js';
import { unknownKeyHints } from '../../query/search/key-hints.js';
import { parseSearch } from '../../query/search/parse.js';
import { encodeCursor as searchCursorAfter, runSearch } from '../../query/search/search.js';
import type { TraceSearch, TraceSummary } from '../../query/trace-store.js';
import { csvRow, formatDuration, isoTime, msNumber } from '../format.js';
import { decodeCursor, encodeCursor, pageLines, ToolInputError } from '../paging.js';
import { defineTool, type ToolContext } from '../tool.js';

const NAME = 'find_traces';
const BUDGET_TOKENS = 2000;
/** The REST search's own ceiling (GET /api/traces?limit=…): no page reaches past the 1000 newest matches. */
const MAX_MATCHES = 1000;
const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;
/** Shorter than the grammar's own limit so that a cursor pinning the query stays well within the budget and its 4096-character input. */
const MAX_QUERY_CHARS = 1000;
/** As GET /api/search. */
const DEFAULT_QUERY_LOOKBACK_NS = 24n * 3_600_000_000_000n;

/**
 * Traces newest first, either by service, operation, duration, time window, errors and
 * correlation ID through the same store search as GET /api/traces, or by a `query` in the search
 * grammar (query/search/README.md) through runSearch, as GET /api/search. The two are not mixed:
 * a query says everything the fields would, so fields beside it are refused rather than guessed at.
 */
export const findTracesTool = defineTool({
  name: NAME,
  title: 'Find traces',
  description:
    'Step 1 of an investigation: find traces by service, operation, duration, time window, errors or correlation ID, newest first; ' +
    'or by a query on any span\'s or resource\'s attributes, e.g. query=\'{ service = checkout AND span.http.response.status_code >= 500 }\', ' +
    '\'{ kind = server } >> { span.db.system = "postgresql" AND duration > 100ms }\' (a descendant), \'trace.duration > 2s AND NOT trace.status = error\'. ' +
    'Query fields: span.<key>, resource.<key>, name, service, kind, status, statusMessage, duration, trace.duration, trace.spans, trace.status, trace.rootService, trace.rootName; ' +
    'operators = != > >= < <= in (…) exists "not exists" startsWith contains =~ !~ (re2); AND OR NOT; { … } holds conditions on one span. ' +
    'Answers one CSV line per trace (ID, start, duration, span and error counts, root service and operation) and aggregates over the page. ' +
    'Next: trace_outline with a trace_id from here.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    service: z.string().max(1024).optional().describe('a span of the trace has this service.name'),
    operation: z.string().max(1024).optional().describe('a span of the trace has this name (with service: that service\'s span)'),
    minDuration: z.string().max(32).optional().describe('a matching span lasted at least this long: 250ms, 1.5s, 2m'),
    maxDuration: z.string().max(32).optional().describe('a matching span lasted at most this long'),
    lookback: z.string().max(32).optional().describe('window length before end (default 1h): 15m, 6h, 48h'),
    start: z.string().max(40).optional().describe('window start, ISO-8601 (overrides lookback)'),
    end: z.string().max(40).optional().describe('window end, ISO-8601 (default now)'),
    errorsOnly: z.boolean().optional().describe(`only traces with at least one error span (among the ${MAX_MATCHES} newest matches)`),
    correlationId: z.string().min(1).max(512).optional().describe(`a span of the trace carries this ${CORRELATION_ATTRIBUTE}`),
    query: z
      .string()
      .max(MAX_QUERY_CHARS)
      .optional()
      .describe('search grammar, instead of service/operation/minDuration/maxDuration/errorsOnly/correlationId (write those in the query); the window fields still apply (default lookback 24h)'),
    limit: z.number().int().min(1).max(100).optional().describe('traces per page (default 20)'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to get the next page; the other fields are then taken from the cursor'),
  },
  async run(input, ctx) {
    let offset = 0;
    let search: PinnedSearch;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      if (state.pin.query !== undefined) return runQuery(ctx, parsePinnedQuery(state.pin), state.offset);
      offset = state.offset;
      search = parsePinned(state.pin.q ?? '');
    } else if (input.query !== undefined && input.query.trim() !== '') {
      const mixed = (['service', 'operation', 'minDuration', 'maxDuration', 'errorsOnly', 'correlationId'] as const).filter((k) => input[k] !== undefined);
      if (mixed.length > 0) {
        throw new ToolInputError(
          `query: not with ${mixed.join(', ')}; write them in the query instead (service = x, name = "GET /x", duration >= 250ms, trace.status = error, span.flowtrace.correlation_id = "id")`,
        );
      }
      const window = parseWindow({ start: input.start, end: input.end, lookback: input.lookback }, DEFAULT_QUERY_LOOKBACK_NS);
      return runQuery(ctx, { query: input.query, startNs: window.startNs.toString(), endNs: window.endNs.toString(), limit: input.limit ?? 20, after: '' }, 0);
    } else {
      const window = parseWindow({ start: input.start, end: input.end, lookback: input.lookback }, DEFAULT_LOOKBACK_NS);
      search = {
        service: input.service || undefined,
        operation: input.operation || undefined,
        minDurationNs: input.minDuration ? parseDuration('minDuration', input.minDuration).toString() : undefined,
        maxDurationNs: input.maxDuration ? parseDuration('maxDuration', input.maxDuration).toString() : undefined,
        startNs: window.startNs.toString(),
        endNs: window.endNs.toString(),
        errorsOnly: input.errorsOnly === true,
        correlationId: input.correlationId,
        limit: input.limit ?? 20,
      };
    }
    const { store } = await ctx.reads();
    // Errors are a property of the whole trace, known only from its summary: the newest matches are scanned for them.
    const fetchCount = search.errorsOnly ? MAX_MATCHES : Math.min(MAX_MATCHES, offset + search.limit);
    const found = await store.searchTraces(toStoreSearch(search, fetchCount));
    const matches = search.errorsOnly ? found.filter((t) => t.errorCount > 0) : found;
    const page = matches.slice(offset, offset + search.limit);
    const head = [summaryLine(search, matches.length, found.length, offset, page), HEADER];
    if (page.length === 0) return [...head.slice(0, 1), hint(search)].join('\n');
    const rows = page.map(traceRow);
    const budget = BUDGET_TOKENS * 4 - head.join('\n').length - 300;
    const shown = pageLines(rows, 0, budget);
    const nextIndex = offset + (shown.next ?? page.length);
    const more = nextIndex < matches.length || (!search.errorsOnly && found.length === fetchCount && fetchCount < MAX_MATCHES);
    const tail = more
      ? `# more traces: call ${NAME} again with cursor="${encodeCursor({ tool: NAME, offset: nextIndex, pin: { q: JSON.stringify(search) } })}"`
      : `# end of matches${found.length === MAX_MATCHES ? ` (only the ${MAX_MATCHES} newest were searched: narrow the window or filters to reach older ones)` : ''}`;
    return [...head, shown.text, tail].join('\n');
  },
});

/** A search-grammar query as pinned in a cursor; `after` is runSearch's cursor ('' for the first page). */
interface PinnedQuery {
  query: string;
  startNs: string;
  endNs: string;
  limit: number;
  after: string;
}

/**
 * One page of a search-grammar query, through runSearch over the caller's read scope (its
 * filtered view of the span table, as GET /api/search). `shownBefore` numbers the traces.
 */
async function runQuery(ctx: ToolContext, q: PinnedQuery, shownBefore: number): Promise<string> {
  const table = (await ctx.deps.readScopes.forRules(ctx.principal.rules)).traceTables.traces;
  // One more than the page: whether older matches exist is known without an empty last page.
  const answer = await runSearch(ctx.deps.reader, { q: q.query, table, startNs: BigInt(q.startNs), endNs: BigInt(q.endNs), limit: q.limit + 1, cursor: q.after || undefined });
  const traces = answer.traces.slice(0, q.limit);
  const window = `${isoTime(q.startNs)} .. ${isoTime(q.endNs)}`;
  if (traces.length === 0) {
    // Keys the query names that no readable span carried lately, with close ones (the attribute-key catalog).
    const hints = shownBefore > 0 ? [] : await unknownKeyHints(ctx.deps.reader, ctx.deps.database, ctx.principal.rules, parseSearch(q.query));
    return [
      `# no traces${shownBefore > 0 ? ` past ${shownBefore}` : ''} in ${window} match ${q.query}`,
      ...hints.map((h) => `# ${h}`),
      '# nothing matched: widen the window (lookback=48h) or loosen the query (names match exactly; your token may also limit which services you can read)',
    ].join('\n');
  }
  const rows = traces.map(traceRow);
  const headOf = (count: number) => [`# traces ${shownBefore + 1}-${shownBefore + count} (newest first) in ${window} matching ${q.query}; ${pageAggregates(traces.slice(0, count))}`, HEADER];
  // The continuation line pins the query (JSON in base64: up to about 3 characters per query character).
  const shown = pageLines(rows, 0, BUDGET_TOKENS * 4 - headOf(rows.length).join('\n').length - 300 - q.query.length * 3);
  const count = shown.next ?? rows.length;
  const head = headOf(count);
  // Continue after the last trace shown, when the budget cut the page or more matches exist.
  const last = traces[count - 1]!;
  const after = count < answer.traces.length ? searchCursorAfter(BigInt(last.startTimeUnixNano), last.traceId) : undefined;
  const tail =
    after === undefined
      ? '# end of matches'
      : `# more traces: call ${NAME} again with cursor="${encodeCursor({ tool: NAME, offset: shownBefore + count, pin: { query: q.query, start: q.startNs, end: q.endNs, limit: String(q.limit), after } })}"`;
  return [...head, shown.text, tail].join('\n');
}

function parsePinnedQuery(pin: Record<string, string>): PinnedQuery {
  const limit = Number(pin.limit);
  const ns = /^\d{1,20}$/;
  if (!ns.test(pin.start ?? '') || !ns.test(pin.end ?? '') || !Number.isInteger(limit) || limit < 1 || limit > 100 || pin.after === undefined) {
    throw new ToolInputError(`cursor: not a cursor from ${NAME}; omit it to start over`);
  }
  return { query: pin.query!, startNs: pin.start!, endNs: pin.end!, limit, after: pin.after };
}

const HEADER = 'trace_id,start,duration_ms,spans,errors,root_service,root_operation,services';

function traceRow(t: TraceSummary): string {
  return csvRow([t.traceId, isoTime(t.startTimeUnixNano), msNumber(t.durationNano), t.spanCount, t.errorCount, t.rootServiceName, t.rootSpanName, t.services.join(' ')]);
}

/** The search as pinned in a cursor: JSON-safe (nanoseconds as decimal strings). */
interface PinnedSearch {
  service?: string;
  operation?: string;
  minDurationNs?: string;
  maxDurationNs?: string;
  startNs: string;
  endNs: string;
  errorsOnly: boolean;
  correlationId?: string;
  limit: number;
}

function parsePinned(q: string): PinnedSearch {
  try {
    const s = JSON.parse(q) as PinnedSearch;
    BigInt(s.startNs);
    BigInt(s.endNs);
    if (!Number.isInteger(s.limit) || s.limit < 1 || s.limit > 100) throw new Error('limit');
    return s;
  } catch {
    throw new ToolInputError(`cursor: not a cursor from ${NAME}; omit it to start over`);
  }
}

function toStoreSearch(s: PinnedSearch, limit: number): TraceSearch {
  return {
    service: s.service,
    operation: s.operation,
    tags: s.correlationId ? [[CORRELATION_ATTRIBUTE, s.correlationId]] : [],
    minDurationNs: s.minDurationNs === undefined ? undefined : BigInt(s.minDurationNs),
    maxDurationNs: s.maxDurationNs === undefined ? undefined : BigInt(s.maxDurationNs),
    startNs: BigInt(s.startNs),
    endNs: BigInt(s.endNs),
    limit,
  };
}

/** Aggregates over the page instead of leaving the model to eyeball them. */
function summaryLine(s: PinnedSearch, matches: number, scanned: number, offset: number, page: TraceSummary[]): string {
  const filters = [
    s.service && `service=${s.service}`,
    s.operation && `operation=${s.operation}`,
    s.minDurationNs && `minDuration=${formatDuration(BigInt(s.minDurationNs))}`,
    s.maxDurationNs && `maxDuration=${formatDuration(BigInt(s.maxDurationNs))}`,
    s.errorsOnly && 'errorsOnly',
    s.correlationId && `correlationId=${s.correlationId}`,
  ].filter(Boolean);
  const window = `${isoTime(s.startNs)} .. ${isoTime(s.endNs)}`;
  const what = `# traces ${offset + 1}-${offset + page.length} (newest first) in ${window}${filters.length ? `; ${filters.join(' ')}` : ''}`;
  if (page.length === 0) return `# no traces${offset > 0 ? ` past ${offset}` : ''} in ${window}${filters.length ? ` with ${filters.join(' ')}` : ''}`;
  const scannedNote = s.errorsOnly ? `; ${matches} of the ${scanned} newest matches have errors` : '';
  return `${what}; ${pageAggregates(page)}${scannedNote}`;
}

/** Duration quantiles and error count of a non-empty page. */
function pageAggregates(page: readonly TraceSummary[]): string {
  const durations = page.map((t) => BigInt(t.durationNano)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const q = (p: number) => formatDuration(durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]!);
  const withErrors = page.filter((t) => t.errorCount > 0).length;
  return `this page: duration p50 ${q(0.5)}, p90 ${q(0.9)}, max ${formatDuration(durations[durations.length - 1]!)}; ${withErrors} with errors`;
}

function hint(s: PinnedSearch): string {
  return `# nothing matched: widen the window (lookback=6h), drop a filter, or check names (service and operation must match exactly; your token may also limit which services you can read)${s.correlationId ? '; lookup_correlation shows when a correlation ID was seen' : ''}`;
}
