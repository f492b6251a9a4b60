import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatDuration, formatTable, visible } from '../format.js';
import type { CatalogKey, CatalogValue } from '../../query/search/catalog.js';
import type { SearchAnswer } from '../../query/search/search.js';
import { paintFor, type Paint } from './terminal.js';

const USAGE = `Usage: flowtrace search [options] "QUERY"
       flowtrace search --keys [--service S] [--prefix P] [--scope span|resource]
       flowtrace search --values KEY [--service S] [--prefix P] [--scope span|resource]

Finds traces with the search language of GET /api/search (collector/src/query/search/README.md),
newest first, e.g.
  flowtrace search 'service = checkout AND duration > 250ms'
  flowtrace search '{ kind = server } >> { span.db.system = "postgresql" AND status = error }'

Options:
${CONNECTION_HELP}
  --since WHEN         how far back: a duration (30m, 1h, 7d) or an ISO-8601 time (default 24h)
  --limit N            traces per page, 1 to 1000 (default 20); with --keys 1 to 1000 (100), --values 1 to 10 (10)
  --cursor C           the next page, as printed after a full page
  --json               print the answer as JSON
  -h, --help           show this help

Attribute keys and values (the collector's attribute-key catalog, for writing queries):
  --keys               list attribute keys, most used first
  --values KEY         list the most frequent values of attribute KEY with their counts
  --service S          only keys or values seen on service S
  --prefix P           only keys (or values) starting with P
  --scope SCOPE        span or resource attributes (keys: both by default; values: span)
  --days N             days back, 1 to 366 (default 7)

A query the grammar refuses is shown with a caret under the column, exit 2.
`;

export const searchCommand: Command = {
  path: ['search'],
  summary: 'find traces with the search language (service = api AND duration > 250ms)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      since: { type: 'string', default: '24h' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      json: { type: 'boolean' },
      keys: { type: 'boolean' },
      values: { type: 'string' },
      service: { type: 'string' },
      prefix: { type: 'string' },
      scope: { type: 'string' },
      days: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (values.keys || values.values !== undefined) {
      if (positionals.length > 0) throw new UsageError('--keys and --values take no query');
      if (values.keys && values.values !== undefined) throw new UsageError('give --keys or --values, not both');
      const params = catalogParameters(values);
      const token = apiCredential(values['token-file'], io.env);
      try {
        const path = values.keys ? `/api/search/keys?${params}` : `/api/search/values?${params}`;
        const answer = await callApi<{ keys?: CatalogKey[]; values?: CatalogValue[] }>(apiUrl(values.api, io.env), path, { token });
        io.stdout.write(values.json ? JSON.stringify(answer, null, 2) + '\n' : answer.keys ? formatKeys(answer.keys) : formatValues(answer.values ?? []));
        return 0;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        io.stderr.write(`flowtrace search: ${err.message}\n`);
        return 1;
      }
    }
    if (values.service !== undefined || values.prefix !== undefined || values.scope !== undefined || values.days !== undefined) {
      throw new UsageError('--service, --prefix, --scope and --days go with --keys or --values');
    }
    if (positionals.length !== 1) throw new UsageError('expected one query (quote it)');
    const query = positionals[0]!;
    const limit = values.limit ?? '20';
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) {
      throw new UsageError(`--limit: expected a whole number from 1 to 1000, got '${limit}'`);
    }
    const params = new URLSearchParams({ q: query, limit, ...windowParameter(values.since) });
    if (values.cursor !== undefined) params.set('cursor', values.cursor);
    const token = apiCredential(values['token-file'], io.env);
    let answer: SearchAnswer;
    try {
      answer = await callApi<SearchAnswer>(apiUrl(values.api, io.env), `/api/search?${params}`, { token });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const syntax = syntaxError(err.message);
      if (syntax) {
        io.stderr.write(`flowtrace search: ${syntax.message}\n${caretUnder(query, syntax.column)}`);
        return 2;
      }
      io.stderr.write(`flowtrace search: ${err.message}\n`);
      return 1;
    }
    if (values.json) {
      io.stdout.write(JSON.stringify(answer, null, 2) + '\n');
      return 0;
    }
    io.stdout.write(formatSearchAnswer(answer, paintFor(io)));
    if (answer.nextCursor !== undefined) io.stderr.write(`more traces: add --cursor ${answer.nextCursor}\n`);
    return 0;
  },
};

/** The catalog routes' parameters from the flags, checked here so that a typo is exit 2 before any request. */
export function catalogParameters(flags: { keys?: boolean; values?: string; service?: string; prefix?: string; scope?: string; days?: string; limit?: string }): URLSearchParams {
  const params = new URLSearchParams();
  if (flags.values !== undefined) {
    if (flags.values === '') throw new UsageError('--values: expected an attribute key, e.g. http.route');
    params.set('key', flags.values);
  }
  if (flags.scope !== undefined && flags.scope !== 'span' && flags.scope !== 'resource') {
    throw new UsageError(`--scope: expected span or resource, got '${flags.scope}'`);
  }
  if (flags.days !== undefined && !(/^\d{1,3}$/.test(flags.days) && Number(flags.days) >= 1 && Number(flags.days) <= 366)) {
    throw new UsageError(`--days: expected a whole number from 1 to 366, got '${flags.days}'`);
  }
  for (const name of ['service', 'prefix', 'scope', 'days'] as const) if (flags[name] !== undefined) params.set(name, flags[name]);
  if (flags.limit !== undefined) {
    const max = flags.keys ? 1000 : 10;
    if (!(/^\d{1,4}$/.test(flags.limit) && Number(flags.limit) >= 1 && Number(flags.limit) <= max)) {
      throw new UsageError(`--limit: expected a whole number from 1 to ${max}, got '${flags.limit}'`);
    }
    params.set('limit', flags.limit);
  }
  return params;
}

export function formatKeys(keys: CatalogKey[]): string {
  if (keys.length === 0) return 'No attribute key seen (the catalog counts spans stored since it was turned on).\n';
  // As written in a query: span.http.route, resource.k8s.pod.name.
  return formatTable(['key', 'spans'], keys.map((k) => ({ key: `${k.scope}.${k.key}`, spans: k.spans })));
}

export function formatValues(values: CatalogValue[]): string {
  if (values.length === 0) return 'No value seen.\n';
  return formatTable(['value', 'spans'], values.map((v) => ({ value: v.value, spans: `≈${v.count}` })));
}

/** `--since` as the route's window: a duration (days as hours) is `lookback`, a time is `start`. */
export function windowParameter(text: string): { lookback: string } | { start: string } {
  const days = /^(\d{1,5})d$/.exec(text);
  if (days) return { lookback: `${Number(days[1]) * 24}h` };
  if (/^(?:\d{1,20}(?:\.\d{1,9})?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) return { lookback: text };
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return { start: new Date(text).toISOString() };
  throw new UsageError(`--since: expected a duration such as 30m, 1h or 7d, or an ISO-8601 time, got '${text}'`);
}

/** The route's 400 for a query the grammar refuses: `400: q: at column N: …`. */
export function syntaxError(message: string): { message: string; column: number } | undefined {
  const m = /^400: (q: at column (\d+): [\s\S]*)$/.exec(message);
  return m ? { message: m[1]!, column: Number(m[2]) } : undefined;
}

/** The query on one line (line breaks shown as spaces, so columns still count) and a caret under `column` (from 1). */
export function caretUnder(query: string, column: number): string {
  const line = query.replace(/[\r\n\t]/g, ' ');
  const at = Math.min(Math.max(column, 1), line.length + 1);
  return `  ${line}\n  ${' '.repeat(at - 1)}^\n`;
}

export function formatSearchAnswer(answer: SearchAnswer, paint: Paint): string {
  // Hints name keys of the query no readable span carried lately (key-hints.ts): likely typos.
  if (answer.traces.length === 0) return `No trace matches.\n${(answer.hints ?? []).map((hint) => `hint: ${visible(hint)}\n`).join('')}`;
  const rows = answer.traces.map((t) => ({
    start: new Date(Number(BigInt(t.startTimeUnixNano) / 1_000_000n)).toISOString(),
    duration: formatDuration(BigInt(t.durationNano)),
    spans: t.spanCount,
    errors: t.errorCount,
    root: `${t.rootServiceName}: ${t.rootSpanName}`,
    trace: t.traceId,
  }));
  const table = formatTable(['start', 'duration', 'spans', 'errors', 'root', 'trace'], rows);
  // Colour after padding, so escapes never upset the column widths.
  const lines = table.split('\n').map((line, i) => (i === 0 ? paint.bold(line) : i >= 2 && (answer.traces[i - 2]?.errorCount ?? 0) > 0 ? paint.red(line) : line));
  return lines.join('\n') + `${answer.traces.length} trace${answer.traces.length === 1 ? '' : 's'}\n`;
}
